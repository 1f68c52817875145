"""Jobs and routes shared by bench_verification.py and measure_verification.py (not a benchmark).

A tiny-llama job is drawn from a seeded generator: a prompt of 1..48 random token ids, 64 new
tokens, greedy for even job indexes and seeded sampling (temperature 0.7 or 1.0, top-k 0 or 20)
for odd ones. Routes are three hops over the tiny llama's five layers.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from inference_worker.models import make_tiny_model  # noqa: E402
from inference_worker.pipeline.generate import Sampling  # noqa: E402
from inference_worker.pipeline.shard import Shard  # noqa: E402
from inference_worker.verify.adversary import ComputeAttack, load_adversarial_shard  # noqa: E402
from inference_worker.verify.fingerprint import derive_probe_seed  # noqa: E402

TINY_SEED = 1234  # the honest tiny llama (the tests' seed)
IMPOSTOR_SEED = 4321  # the "different model" a cheating hop serves
TINY_SPANS = ((0, 2), (2, 4), (4, 5))  # three hops over five layers
SMOLLM2_SPANS = ((0, 10), (10, 21), (21, 30))
NEW_TOKENS = 64
QUESTIONS = (
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Explain photosynthesis in one sentence.",
    "List three prime numbers.",
    "Who wrote Romeo and Juliet?",
    "How do I boil an egg?",
    "Translate 'good morning' into Spanish.",
    "What is 12 times 7?",
    "Give me a name for a pet turtle.",
    "Why is the sky blue?",
)


@dataclass(frozen=True)
class Job:
    job_id: int
    prompt: tuple[int, ...]
    sampling: Sampling | None
    max_new_tokens: int = NEW_TOKENS

    @property
    def probe_seed(self) -> int:
        return derive_probe_seed(self.job_id)


def tiny_jobs(count: int, *, seed: int = 7, vocab: int = 96) -> list[Job]:
    rng = random.Random(seed)
    jobs = []
    for index in range(count):
        prompt = tuple(rng.randrange(vocab) for _ in range(rng.randint(1, 48)))
        sampling = None
        if index % 2:
            temperature = rng.choice((0.7, 1.0))
            sampling = Sampling(
                seed=rng.getrandbits(63), temperature=temperature, top_k=rng.choice((0, 20))
            )
        jobs.append(Job(job_id=1000 + index, prompt=prompt, sampling=sampling))
    return jobs


def tiny_model_dirs(root: Path) -> tuple[Path, Path]:
    """(honest tiny llama, impostor tiny llama), made once under `root`."""
    honest, impostor = root / f"tiny-llama-{TINY_SEED}", root / f"tiny-llama-{IMPOSTOR_SEED}"
    if not (honest / "manifest.json").is_file():
        make_tiny_model("llama", honest, seed=TINY_SEED)
    if not (impostor / "manifest.json").is_file():
        make_tiny_model("llama", impostor, seed=IMPOSTOR_SEED)
    return honest, impostor


def load_route(
    model_dir: Path,
    spans: Sequence[tuple[int, int]],
    *,
    dtypes: Sequence[torch.dtype] | None = None,
    attacks: dict[int, ComputeAttack] | None = None,
) -> list[Shard]:
    """One shard per span (hop i in dtypes[i], cheating as attacks[i] says)."""
    dtypes = dtypes or [torch.float32] * len(spans)
    attacks = attacks or {}
    return [
        load_adversarial_shard(model_dir, a, b, attacks.get(i, ComputeAttack()), dtype=dtypes[i])
        for i, (a, b) in enumerate(spans)
    ]


@contextmanager
def threads(count: int) -> Iterator[None]:
    """Run the block with `count` intra-op threads."""
    saved = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def chat_prompt(tokenizer, question: str) -> tuple[int, ...]:
    messages = [{"role": "user", "content": question}]
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    return tuple(encoded["input_ids"])
