"""The activation pipeline with a real model (slow): SmolLM2-135M-Instruct in three worker
processes, spans [0,10), [10,21), [21,30), against transformers' own greedy generate; then the
middle worker is killed mid-generation and a spare takes over with identical output."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inference_worker.pipeline.generate import reference_generate
from tests.inference_worker.pipeline_harness import (
    WorkerProcess,
    generate_request,
    run_generate,
    start_workers,
    stop_all,
)

pytestmark = pytest.mark.slow

SPANS = [(0, 10), (10, 21), (21, 30)]
NEW_TOKENS = 32


@pytest.fixture(scope="module")
def prompt(smollm2_dir) -> list[int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(smollm2_dir), local_files_only=True)
    messages = [{"role": "user", "content": "What is the capital of France? Answer briefly."}]
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    return list(encoded["input_ids"])


@pytest.fixture(scope="module")
def reference(smollm2_dir, prompt) -> list[int]:
    return reference_generate(smollm2_dir, prompt, NEW_TOKENS, eos_ids=set())


@pytest.fixture(scope="module")
def workers(smollm2_dir) -> Iterator[list[WorkerProcess]]:
    """first, middle, last, and a spare middle (the middle one is slowed down a little so that
    a test can kill it mid-generation)."""
    specs = [
        ("first", smollm2_dir, "smollm2", *SPANS[0], {}),
        ("middle", smollm2_dir, "smollm2", *SPANS[1], {"args": ["--step-delay=0.05"]}),
        ("last", smollm2_dir, "smollm2", *SPANS[2], {}),
        ("spare-middle", smollm2_dir, "smollm2", *SPANS[1], {}),
    ]
    processes = start_workers(specs)
    try:
        yield processes
    finally:
        stop_all(processes)


def test_smollm2_three_worker_pipeline_gives_transformers_greedy_tokens(workers, prompt, reference):
    first, middle, last, _ = workers
    request = generate_request(
        "smollm2", [first.hop(), middle.hop(), last.hop()], prompt, NEW_TOKENS
    )
    out = run_generate(first.endpoint, request, timeout_s=600)
    assert out.error is None, out.error
    assert out.tokens == reference


def test_smollm2_killing_the_middle_worker_gives_identical_output(workers, prompt, reference):
    first, middle, last, spare = workers

    def kill_middle(count: int) -> None:
        if count == 8:
            middle.kill()

    request = generate_request(
        "smollm2", [first.hop(), middle.hop(), last.hop()], prompt, NEW_TOKENS, job_id=2,
        candidates=[spare.hop()],
    )  # fmt: skip
    out = run_generate(first.endpoint, request, on_token=kill_middle, timeout_s=600)
    assert middle.proc.poll() is not None
    assert out.error is None, out.error
    assert out.tokens == reference
    assert out.done.replacements == 1 and out.done.hops[1].worker == "spare-middle"
