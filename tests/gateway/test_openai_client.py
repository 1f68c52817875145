"""The official `openai` client against `infera gateway` on a real local network: one validator,
three real `infera worker run` processes serving a tiny seeded Llama on one route of three hops.

* chat.completions.create returns exactly the text of the output the chain finalized (the
  winning output of the job named by the response id), which is also the local greedy reference;
* streamed (stream=True, include_usage): the chunks come in the order clients depend on, the
  first text arrives before the chain has finalized the job (route tokens, unverified), and the
  streamed text is the finalized text, which the final chunk says;
* curl gets the same schema and text, streamed (curl -N) and not;
* a model no worker serves is 429 with Retry-After (no job is submitted);
* a wrong API key and an unknown model come back as the client's typed errors.

The gateway waits on the node's block events (--rpc websocket), not by polling.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator

import chain.pb  # noqa: F401

import pytest

from infera.inference.v1 import types_pb2 as inference_types
from tests.gateway.network import (
    API_KEY,
    IDLE_MODEL,
    Gateway,
    finalized_text,
    gateway_network,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

pytest.importorskip("torch")
openai = pytest.importorskip("openai")

from tests.integration.test_e2e_inference import MODEL_ID, SPANS  # noqa: E402

CHAIN_ID = "infera-gateway"
PROMPT = "Infera says hello"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp("gateway")
    with gateway_network(root, CHAIN_ID, SPANS, idle_model=True) as net:
        print("startup (s from start):", net.timings)
        yield net


def test_the_openai_client_gets_the_text_the_chain_finalized(gateway):
    from inference_worker.pipeline.generate import reference_generate
    from inference_worker.pipeline.route import PromptTokenizer

    client = openai.OpenAI(base_url=gateway.url, api_key=API_KEY, max_retries=0, timeout=300)
    assert sorted(m.id for m in client.models.list().data) == [IDLE_MODEL, MODEL_ID]
    response = client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": PROMPT}], max_tokens=8
    )
    text, count = finalized_text(gateway, int(response.id))
    assert response.choices[0].message.content == text
    assert response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens == count == 8
    job = gateway.client.job(int(response.id))
    assert response.model_extra["infera"]["output_hash"] == job.output_hash.hex()
    # and that is the model's own greedy continuation of the rendered chat prompt
    prompt = f"user: {PROMPT}\nassistant:".encode()
    tokenizer = PromptTokenizer(gateway.model_dir, gateway.vocab)
    assert (
        tokenizer.decode(reference_generate(gateway.model_dir, tokenizer.encode(prompt), 8)) == text
    )
    assert response.usage.prompt_tokens == len(prompt)  # byte tokens of the tiny model


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl")
def test_curl_gets_the_same_schema_and_the_finalized_text(gateway):
    body = json.dumps({"model": MODEL_ID, "max_tokens": 4,
                       "messages": [{"role": "user", "content": "curl"}]})  # fmt: skip
    out = subprocess.run(
        ["curl", "-sS", "-H", f"Authorization: Bearer {API_KEY}", "-H",
         "Content-Type: application/json", "-d", body, f"{gateway.url}/chat/completions"],
        capture_output=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    answer = json.loads(out)
    text, count = finalized_text(gateway, int(answer["id"]))
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": text}
    assert answer["usage"]["completion_tokens"] == count
    missing = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", f"{gateway.url}/models"],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    assert missing == b"401"


def test_the_openai_client_sees_typed_errors(gateway):
    wrong = openai.OpenAI(base_url=gateway.url, api_key="sk-wrong-0123456789", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    client = openai.OpenAI(base_url=gateway.url, api_key=API_KEY, max_retries=0)
    messages = [{"role": "user", "content": PROMPT}]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=messages)
    with pytest.raises(openai.RateLimitError, match="disjoint routes") as caught:
        client.chat.completions.create(model=IDLE_MODEL, messages=messages)
    assert caught.value.code == "no_capacity"
    assert caught.value.response.headers["retry-after"] == "5"
    with pytest.raises(openai.BadRequestError, match="max_tokens"):
        client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=17)


def test_the_openai_client_streams_route_tokens_before_finalization_then_the_verdict(gateway):
    client = openai.OpenAI(base_url=gateway.url, api_key=API_KEY, max_retries=0, timeout=300)
    stream = client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": PROMPT}], max_tokens=8,
        stream=True, stream_options={"include_usage": True},
    )  # fmt: skip
    chunks, state_at_first_text = [], None
    for chunk in stream:
        chunks.append(chunk)
        if state_at_first_text is None and chunk.choices and chunk.choices[0].delta.content:
            state_at_first_text = gateway.client.job(int(chunk.id)).state
    first, *content, final, usage = chunks
    job_id = int(first.id)
    assert first.choices[0].delta.role == "assistant" and first.choices[0].delta.content == ""
    assert all(c.choices[0].finish_reason is None for c in content) and content
    text, count = finalized_text(gateway, job_id)
    assert "".join(c.choices[0].delta.content or "" for c in content) == text
    assert final.choices[0].finish_reason == "length" and not final.choices[0].delta.content
    infera = final.model_extra["infera"]
    assert infera["finalized"] is True and infera["job_id"] == job_id
    assert infera["output_hash"] == gateway.client.job(job_id).output_hash.hex()
    assert infera["streamed_tokens"] == count == 8  # every token came from the route's stream
    assert usage.choices == [] and usage.usage.completion_tokens == 8
    # the first text was on the wire while the chain had not finalized the job yet
    assert state_at_first_text is not None
    assert state_at_first_text != inference_types.JOB_STATE_FINALIZED
    # and the gateway waited on the node's block events (one websocket subscription)
    log = gateway.log.read_text()
    assert log.count("subscribed to block events") == 1, log[-2000:]
    assert "event subscription lost" not in log


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl")
def test_curl_n_streams_server_sent_events_ending_in_done(gateway):
    body = json.dumps({"model": MODEL_ID, "max_tokens": 4, "stream": True,
                       "messages": [{"role": "user", "content": "curl"}]})  # fmt: skip
    out = subprocess.run(
        ["curl", "-sS", "-N", "-H", f"Authorization: Bearer {API_KEY}", "-H",
         "Content-Type: application/json", "-d", body, f"{gateway.url}/chat/completions"],
        capture_output=True, check=True, timeout=300,
    ).stdout.decode()  # fmt: skip
    data = [line[6:] for line in out.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["infera"]["finalized"] is True
    text, _ = finalized_text(gateway, int(chunks[0]["id"]))
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == text


def test_the_openai_client_gets_legacy_completions_streamed_and_not(gateway):
    from inference_worker.pipeline.generate import reference_generate
    from inference_worker.pipeline.route import PromptTokenizer

    client = openai.OpenAI(base_url=gateway.url, api_key=API_KEY, max_retries=0, timeout=300)
    answer = client.completions.create(model=MODEL_ID, prompt=PROMPT, max_tokens=6)
    text, count = finalized_text(gateway, int(answer.id))
    assert answer.object == "text_completion" and answer.choices[0].text == text
    tokenizer = PromptTokenizer(
        gateway.model_dir, gateway.vocab
    )  # the raw prompt, no chat rendering
    assert tokenizer.decode(reference_generate(gateway.model_dir, tokenizer.encode(
        PROMPT.encode()), 6)) == text  # fmt: skip
    chunks = list(client.completions.create(model=MODEL_ID, prompt=PROMPT, max_tokens=6,
                                            stream=True))  # fmt: skip
    assert "".join(c.choices[0].text for c in chunks) == text
    assert chunks[-1].choices[0].finish_reason == "length"
    assert chunks[-1].model_extra["infera"]["finalized"] is True
    assert chunks[-1].model_extra["infera"]["streamed_tokens"] == count
