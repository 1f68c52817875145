"""The gateway's HTTP surface without a network: a fake chain behind starlette's TestClient.

Every refusal has its status and OpenAI error code; an accepted request becomes exactly one job
with the escrow the chain demands, and the finalized tokens come back as the completion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.testclient import TestClient

from chain.gateway.app import Settings, create_app
from chain.gateway.backend import JobOutcome, ModelInfo
from chain.gateway.errors import GatewayError
from chain.gateway.tokenizer import render_plain
from infera.inference.v1 import types_pb2 as inference_types

KEY = "sk-test-1"
AUTH = {"Authorization": f"Bearer {KEY}"}
MODEL = ModelInfo("tiny", "infera1owner", "2", 1, 3)
PARAMS = SimpleNamespace(max_new_tokens=64, max_temperature_milli=2000, max_top_k=50,
                         max_prompt_bytes=200)  # fmt: skip


class ByteTokenizer:
    """Byte tokens (as the tiny test models' fallback): token t reads as chr(t)."""

    def render(self, messages):
        return render_plain(messages)

    def count(self, prompt):
        return len(prompt)

    def decode(self, tokens):
        return "".join(chr(t) for t in tokens)


@dataclass
class FakeChain:
    address: str = "infera1gateway"
    funds: int = 10**9
    states: list[int] = field(default_factory=lambda: [inference_types.JOB_STATE_FINALIZED])
    submitted: list[dict[str, Any]] = field(default_factory=list)
    refuse: Exception | None = None
    covered: bool = True

    def inference_params(self):
        return PARAMS

    def models(self):
        return [MODEL, ModelInfo("no-tokenizer-here", "infera1x", "1", 1, 4)]

    def model(self, model_id):
        return MODEL if model_id == MODEL.id else None

    def balance(self):
        return self.funds

    def has_routes(self, model):
        return self.covered

    def submit(self, **job):
        if self.refuse is not None:
            raise self.refuse
        self.submitted.append(job)
        return 7, "AB" * 32

    def outcome(self, job_id):
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        tokens = (
            tuple(ord(c) for c in "hi!") if state == inference_types.JOB_STATE_FINALIZED else ()
        )
        return JobOutcome(job_id, state, "no quorum", b"\x01" * 32, 12, tokens)


def client_for(chain: FakeChain, **settings: Any) -> TestClient:
    options = {"api_keys": frozenset({KEY}), "poll_s": 0.0, **settings}
    return TestClient(create_app(chain, {"tiny": ByteTokenizer()}, Settings(**options)))


def chat(client: TestClient, headers=AUTH, **body: Any):
    body = {"model": "tiny", "messages": [{"role": "user", "content": "hello"}], **body}
    return client.post("/v1/chat/completions", json=body, headers=headers)


def error_of(response) -> tuple[int, str]:
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return response.status_code, error["code"]


def test_chat_returns_the_finalized_tokens_in_the_openai_schema():
    chain = FakeChain(
        states=[inference_types.JOB_STATE_ASSIGNED, inference_types.JOB_STATE_FINALIZED]
    )
    response = chat(client_for(chain), max_tokens=3)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "7" and body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "hi!"}
    assert body["choices"][0]["finish_reason"] == "length"  # 3 tokens of max 3
    prompt = b"user: hello\nassistant:"
    assert body["usage"] == {"prompt_tokens": len(prompt), "completion_tokens": 3,
                             "total_tokens": len(prompt) + 3}  # fmt: skip
    assert body["infera"]["job_id"] == 7 and body["infera"]["final_height"] == 12
    [job] = chain.submitted
    assert job["prompt"] == prompt and job["max_new_tokens"] == 3
    assert job["max_fee"] == 2 * (-(-len(prompt) // 4) + 3)  # price x (prompt est. + max) x r
    assert job["decoding"].mode == inference_types.DECODING_MODE_GREEDY


def test_finish_reason_is_stop_when_the_output_is_shorter_than_max_tokens():
    body = chat(client_for(FakeChain()), max_tokens=10).json()
    assert body["choices"][0]["finish_reason"] == "stop"


def test_temperature_becomes_seeded_sampling_in_thousandths():
    chain = FakeChain()
    assert chat(client_for(chain), temperature=0.7, top_k=5).status_code == 200
    decoding = chain.submitted[0]["decoding"]
    assert (decoding.mode, decoding.temperature_milli, decoding.top_k) == (
        inference_types.DECODING_MODE_SAMPLING, 700, 5)  # fmt: skip


def test_default_max_tokens_is_the_gateway_cap_within_the_chain_limit():
    chain = FakeChain()
    chat(client_for(chain, max_tokens=16))
    assert chain.submitted[0]["max_new_tokens"] == 16


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": KEY}])  # fmt: skip
def test_requests_without_a_known_api_key_are_refused_before_any_chain_work(headers):
    chain = FakeChain()
    client = client_for(chain)
    assert error_of(chat(client, headers=headers)) == (401, "invalid_api_key")
    assert error_of(client.get("/v1/models", headers=headers)) == (401, "invalid_api_key")
    assert chain.submitted == []


def test_models_lists_the_registered_models_this_gateway_can_serve():
    body = client_for(FakeChain()).get("/v1/models", headers=AUTH).json()
    assert [m["id"] for m in body["data"]] == ["tiny"]
    assert body["data"][0]["infera"]["price_per_token"] == "2"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"stream": "yes"}, "stream"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),  # without stream
        ({"stream": True, "stream_options": {"include_usage": 1}}, "stream_options"),
        ({"stream": True, "stream_options": {"chunk": 1}}, "stream_options"),
        ({"n": 2}, "n"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 65}, "max_tokens"),  # above the chain's max_new_tokens
        ({"max_tokens": True}, "max_tokens"),
        ({"max_completion_tokens": "5"}, "max_completion_tokens"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": 0.0001}, "temperature"),
        ({"temperature": "1"}, "temperature"),
        ({"top_k": 3}, "top_k"),  # greedy has no top_k
        ({"temperature": 1, "top_k": 51}, "top_k"),
        ({"top_p": 0.9}, "top_p"),
        ({"stop": ["\n"]}, "stop"),
        ({"logprobs": True}, "logprobs"),
        ({"model": "Tiny Model"}, "model"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages"),
        ({"messages": [{"role": "user", "content": ["x"]}]}, "messages"),
        ({"messages": [{"role": "user", "content": "x" * 300}]}, "messages"),  # > prompt bytes
    ],
)
def test_invalid_requests_are_400_and_submit_nothing(body, param):
    chain = FakeChain()
    response = chat(client_for(chain), **body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert chain.submitted == []


def test_a_body_that_is_not_a_json_object_is_400():
    client = client_for(FakeChain())
    for raw in (b"{", b"[1]", b"\xff"):
        response = client.post("/v1/chat/completions", content=raw, headers=AUTH)
        assert error_of(response) == (400, "invalid_request")


def test_a_body_over_the_size_limit_is_413():
    response = chat(client_for(FakeChain(), max_body_bytes=100), user="x" * 200)
    assert error_of(response) == (413, "request_too_large")


def test_a_chunked_body_is_cut_off_at_the_size_limit():
    def chunks():
        yield b'{"model": "tiny", "user": "'
        for _ in range(1000):
            yield b"x" * 1000  # 1 MB in all, no Content-Length

    client = client_for(FakeChain(), max_body_bytes=4096)
    response = client.post("/v1/chat/completions", content=chunks(), headers=AUTH)
    assert error_of(response) == (413, "request_too_large")


def test_an_unknown_model_is_404():
    client = client_for(FakeChain())
    assert error_of(chat(client, model="other")) == (404, "model_not_found")
    # registered on chain, but the gateway has no tokenizer for it
    assert error_of(chat(client, model="no-tokenizer-here")) == (404, "model_not_found")


def test_an_account_that_cannot_escrow_the_fee_is_429_with_retry_after_and_submits_nothing():
    chain = FakeChain(funds=5)
    response = chat(client_for(chain))
    assert error_of(response) == (429, "insufficient_funds")
    assert response.headers["retry-after"] == "60"
    assert response.headers["x-should-retry"] == "false"  # openai's client then does not wait
    assert response.json()["error"]["type"] == "insufficient_quota"  # as OpenAI's own quota 429
    assert chain.submitted == []


def test_a_model_without_routes_now_is_429_with_retry_after_and_submits_nothing():
    chain = FakeChain(covered=False)
    response = chat(client_for(chain))
    assert error_of(response) == (429, "no_capacity")
    assert response.headers["retry-after"] == "5"
    assert chain.submitted == []


def test_a_chain_refusal_passes_through_with_its_status():
    chain = FakeChain(refuse=GatewayError(409, "some_code", "sdk code 99"))
    assert error_of(chat(client_for(chain))) == (409, "some_code")


def test_a_submit_that_never_commits_is_502_in_the_openai_schema():
    chain = FakeChain(refuse=TimeoutError("tx AA not committed after 30 s"))
    assert error_of(chat(client_for(chain))) == (502, "chain_error")


def test_a_job_that_does_not_finalize_in_time_is_504_naming_the_job():
    chain = FakeChain(states=[inference_types.JOB_STATE_COMMITTING])
    response = chat(client_for(chain, timeout_s=0.05, poll_s=0.01))
    assert error_of(response) == (504, "timeout")
    assert "job 7" in response.json()["error"]["message"]


def test_an_expired_job_is_502_with_the_chain_reason():
    chain = FakeChain(states=[inference_types.JOB_STATE_EXPIRED])
    response = chat(client_for(chain))
    assert error_of(response) == (502, "job_not_finalized")
    assert "EXPIRED: no quorum" in response.json()["error"]["message"]


def test_the_gateway_refuses_to_start_without_api_keys():
    with pytest.raises(ValueError):
        create_app(FakeChain(), {}, Settings(api_keys=frozenset()))


@pytest.mark.parametrize(
    ("codespace", "code", "status"),
    [("sdk", 5, 429), ("sdk", 13, 429), ("inference", 13, 400), ("inference", 3, 400)],
)
def test_a_refused_submit_tx_maps_to_429_only_when_the_account_cannot_pay(codespace, code, status):
    from chain.client import TxError, TxResult
    from chain.gateway.backend import tx_failure

    err = tx_failure(TxError(TxResult(txhash="AA", code=code, codespace=codespace, log="why")))
    assert err.status == status and "why" in err.message
