"""Default suite, end to end: the official `openai` client against `infera gateway` on a real
local network of the fewest processes the chain allows: one validator and ONE `infera worker
run` serving all five layers of a tiny seeded Llama (min_redundancy 1: one route of one hop).

* non-streamed: the answer is exactly the text of the output the chain finalized for the job
  named by the response id (and the local greedy reference);
* streamed (include_usage): the chunks come in the order clients depend on, the streamed text is
  the finalized text, and the final chunk says the chain finalized it.

The processes are started once for both calls (module fixture). The slow suite has the same
checks and more over three hops (test_openai_client.py) and with SmolLM2 (test_openai_smollm2.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.network import API_KEY, Gateway, finalized_text, gateway_network
from tests.integration.test_e2e_inference import MODEL_ID

pytestmark = pytest.mark.integration

pytest.importorskip("torch")
openai = pytest.importorskip("openai")

PROMPT = "Infera says hello"
MAX_TOKENS = 6


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp("gateway-tiny")
    with gateway_network(root, "infera-gw-tiny", [(0, 5)], timeout_commit="100ms") as net:
        print("startup (s from start):", net.timings)
        yield net


def test_the_openai_client_gets_the_finalized_text_streamed_and_not(gateway):
    from inference_worker.pipeline.generate import reference_generate
    from inference_worker.pipeline.route import PromptTokenizer

    client = openai.OpenAI(base_url=gateway.url, api_key=API_KEY, max_retries=0, timeout=120)
    messages = [{"role": "user", "content": PROMPT}]
    response = client.chat.completions.create(
        model=MODEL_ID, messages=messages, max_tokens=MAX_TOKENS
    )
    text, count = finalized_text(gateway, int(response.id))
    assert response.choices[0].message.content == text
    assert response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens == count == MAX_TOKENS
    assert response.model_extra["infera"]["output_hash"] == (
        gateway.client.job(int(response.id)).output_hash.hex()
    )
    tokenizer = PromptTokenizer(gateway.model_dir, gateway.vocab)
    prompt = tokenizer.encode(f"user: {PROMPT}\nassistant:".encode())
    assert tokenizer.decode(reference_generate(gateway.model_dir, prompt, MAX_TOKENS)) == text

    stream = client.chat.completions.create(
        model=MODEL_ID, messages=messages, max_tokens=MAX_TOKENS, stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    first, *content, final, usage = list(stream)
    job_id = int(first.id)
    assert job_id != int(response.id)  # a second job, finalized on its own
    assert first.choices[0].delta.role == "assistant" and first.choices[0].delta.content == ""
    assert content and all(c.choices[0].finish_reason is None for c in content)
    streamed_text, streamed_count = finalized_text(gateway, job_id)
    assert "".join(c.choices[0].delta.content or "" for c in content) == streamed_text == text
    assert final.choices[0].finish_reason == "length" and not final.choices[0].delta.content
    infera = final.model_extra["infera"]
    assert infera["finalized"] is True and infera["job_id"] == job_id
    assert infera["output_hash"] == gateway.client.job(job_id).output_hash.hex()
    assert infera["streamed_tokens"] == streamed_count == MAX_TOKENS  # all from the route
    assert usage.choices == [] and usage.usage.completion_tokens == MAX_TOKENS
