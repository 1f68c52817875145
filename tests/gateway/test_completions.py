"""Legacy ``/v1/completions``: the raw prompt becomes the job's prompt (no chat template), the
answer is a ``text_completion``, streamed or not; what it cannot honour is a 400."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.gateway.test_app import AUTH, FakeChain, client_for
from tests.gateway.test_stream import StreamChain, events_of
from tests.gateway.test_stream import client_for as stream_client_for


def complete(client, **body: Any):
    return client.post("/v1/completions", json={"model": "tiny", "prompt": "Once", **body},
                       headers=AUTH)  # fmt: skip


def test_a_completion_sends_the_prompt_as_it_is_and_answers_a_text_completion():
    chain = FakeChain()
    response = complete(client_for(chain), max_tokens=3)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "text_completion" and body["id"] == "7"
    assert body["choices"] == [{"text": "hi!", "index": 0, "logprobs": None,
                                "finish_reason": "length"}]  # fmt: skip
    assert body["usage"]["prompt_tokens"] == len(b"Once") and body["infera"]["job_id"] == 7
    [job] = chain.submitted
    assert job["prompt"] == b"Once" and job["max_new_tokens"] == 3


def test_max_tokens_defaults_to_sixteen_as_openai_and_a_one_string_list_is_a_prompt():
    chain = FakeChain()
    assert complete(client_for(chain), prompt=["Once"]).status_code == 200
    assert chain.submitted[0]["max_new_tokens"] == 16 and chain.submitted[0]["prompt"] == b"Once"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": ["a", "b"]}, "prompt"),
        ({"prompt": [1, 2, 3]}, "prompt"),  # token ids: not supported
        ({"prompt": None}, "prompt"),
        ({"echo": True}, "echo"),
        ({"best_of": 2}, "best_of"),
        ({"logprobs": 1}, "logprobs"),
        ({"suffix": "end"}, "suffix"),
        ({"messages": []}, "messages"),  # a chat field
        ({"n": 2}, "n"),
        ({"max_tokens": 65}, "max_tokens"),
        ({"prompt": "x" * 201}, "prompt"),  # over the chain's max_prompt_bytes
    ],
)
def test_what_a_completion_cannot_honour_is_400_and_submits_nothing(body, param):
    chain = FakeChain()
    response = complete(client_for(chain), **body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert chain.submitted == []


def test_a_streamed_completion_has_text_chunks_a_final_chunk_usage_and_done():
    chain = StreamChain()
    chain.finalize.set()
    body = {"model": "tiny", "prompt": "Once", "max_tokens": 3, "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    with stream_client_for(chain).stream("POST", "/v1/completions", json=body,
                                         headers=AUTH) as response:  # fmt: skip
        events = events_of(list(response.iter_lines()))
    *content, final, usage, done = events
    assert all(c["object"] == "text_completion" for c in events[:-1])
    assert "".join(c["choices"][0]["text"] for c in content) == "hi!"
    assert all(c["choices"][0]["finish_reason"] is None for c in content)
    assert set(content[0]["choices"][0]) == {"text", "index", "logprobs", "finish_reason"}
    assert final["choices"][0]["text"] == "" and final["choices"][0]["finish_reason"] == "length"
    assert final["infera"]["finalized"] is True
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 3
    assert done == "[DONE]"
    assert json.loads(json.dumps(chain.submitted[0]["prompt"].decode())) == "Once"
