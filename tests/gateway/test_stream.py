"""Streamed chat completions against a fake chain and a fake route: the exact chunk order clients
depend on, text before finalization, the verdict when the chain finalizes something else, errors
before and after the stream starts, keep-alives, and a client that leaves mid-stream."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from chain.gateway.app import Settings, create_app
from chain.gateway.backend import JobOutcome, RouteHead, WatchError
from infera.inference.v1 import types_pb2 as inference_types
from tests.gateway.test_app import AUTH, KEY, MODEL, PARAMS, ByteTokenizer

FINALIZED = inference_types.JOB_STATE_FINALIZED
ASSIGNED = inference_types.JOB_STATE_ASSIGNED
HEAD = RouteHead("infera1first", "127.0.0.1:1")


@dataclass
class StreamChain:
    """A chain whose job 7 is assigned at once and finalizes ``final`` when ``finalize`` is
    set; route 0 streams ``route`` (each token once ``gate`` allows, when a gate is given)."""

    route: str = "hi!"
    final: str | None = "hi!"  # None: the job expires
    finalize: threading.Event = field(default_factory=threading.Event)
    not_found: int = 0  # WatchTokens answers NOT_FOUND this many times first
    fail_after: int | None = None  # the route stream fails after this many tokens
    hang_after: int | None = None  # the route stream stops sending after this many tokens
    address: str = "infera1gateway"
    covered: bool = True
    submitted: list[dict[str, Any]] = field(default_factory=list)
    watches_open: int = 0
    watches_closed: int = 0
    outcome_calls_after_finalize: int = 0

    def inference_params(self):
        return PARAMS

    def models(self):
        return [MODEL]

    def model(self, model_id):
        return MODEL if model_id == MODEL.id else None

    def balance(self):
        return 10**9

    def has_routes(self, model):
        return self.covered

    def submit(self, **job):
        self.submitted.append(job)
        return 7, "CD" * 32

    def outcome(self, job_id):
        if not self.finalize.is_set():
            return JobOutcome(job_id, ASSIGNED, "", b"", 0, (), (HEAD,))
        if self.final is None:
            return JobOutcome(job_id, inference_types.JOB_STATE_EXPIRED, "no quorum", b"", 0, ())
        tokens = tuple(ord(c) for c in self.final)
        return JobOutcome(job_id, FINALIZED, "", b"\x02" * 32, 21, tokens, (HEAD,))

    async def watch_tokens(self, job_id, route_index, head):
        assert (job_id, route_index, head) == (7, 0, HEAD)
        if self.not_found > 0:
            self.not_found -= 1
            raise WatchError("NOT_FOUND: route (7, 0) is not driven here (yet)", retry=True)
        self.watches_open += 1
        try:
            for i, char in enumerate(self.route):
                if i == self.fail_after:
                    raise WatchError("route 0 failed: hop 1 died")
                if i == self.hang_after:
                    await asyncio.Event().wait()  # a worker that stalls: only a cancel ends it
                yield ord(char)
                await asyncio.sleep(0.01)
        finally:
            self.watches_closed += 1


def client_for(chain: StreamChain, **settings: Any) -> TestClient:
    options = {"api_keys": frozenset({KEY}), "poll_s": 0.01, **settings}
    return TestClient(create_app(chain, {"tiny": ByteTokenizer()}, Settings(**options)))


def body(**extra: Any) -> dict[str, Any]:
    return {"model": "tiny", "messages": [{"role": "user", "content": "hello"}],
            "stream": True, "max_tokens": 3, **extra}  # fmt: skip


def events_of(lines: list[str]) -> list[Any]:
    """The SSE data payloads in order ("[DONE]" as is, JSON decoded); comments as ":..."."""
    out: list[Any] = []
    for line in lines:
        if line.startswith(":"):
            out.append(line)
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
            out.append(data if data == "[DONE]" else json.loads(data))
        else:
            assert line == "", line
    return out


def stream(chain: StreamChain, finalize_after_s: float = 0.0, **settings: Any) -> list[Any]:
    if finalize_after_s == 0.0:
        chain.finalize.set()
    else:
        threading.Timer(finalize_after_s, chain.finalize.set).start()
    with client_for(chain, **settings).stream(
        "POST", "/v1/chat/completions", json=body(stream_options={"include_usage": True}),
        headers=AUTH,
    ) as response:  # fmt: skip
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return events_of(list(response.iter_lines()))


def test_a_stream_has_the_exact_chunk_order_clients_depend_on():
    chain = StreamChain()
    events = [e for e in stream(chain, finalize_after_s=0.2) if not str(e).startswith(":")]
    first, *content, final, usage, done = events
    assert first["object"] == "chat.completion.chunk" and first["id"] == "7"
    assert first["choices"] == [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    ]
    assert "".join(c["choices"][0]["delta"]["content"] for c in content) == "hi!"
    for chunk in content:
        assert set(chunk["choices"][0]) == {"index", "delta", "finish_reason"}
        assert chunk["choices"][0]["finish_reason"] is None  # present, null
        assert chunk["usage"] is None  # include_usage: null on every chunk but the last
    assert final["choices"] == [{"index": 0, "delta": {}, "finish_reason": "length"}]
    assert final["infera"]["finalized"] is True and final["infera"]["state"] == "FINALIZED"
    assert final["infera"]["output_hash"] == "02" * 32 and final["infera"]["streamed_tokens"] == 3
    prompt = len(b"user: hello\nassistant:")
    assert usage["choices"] == [] and usage["usage"] == {
        "prompt_tokens": prompt, "completion_tokens": 3, "total_tokens": prompt + 3}  # fmt: skip
    assert done == "[DONE]"
    assert chain.submitted and chain.submitted[0]["max_new_tokens"] == 3


def test_without_include_usage_there_is_no_usage_chunk_and_no_usage_field():
    chain = StreamChain()
    chain.finalize.set()
    with client_for(chain).stream("POST", "/v1/chat/completions", json=body(),
                                  headers=AUTH) as response:  # fmt: skip
        events = events_of(list(response.iter_lines()))
    assert events[-1] == "[DONE]"
    assert events[-2]["choices"][0]["finish_reason"] == "length"
    assert all("usage" not in e for e in events[:-1])


def test_text_arrives_before_the_job_is_finalized():
    chain = StreamChain()
    client = client_for(chain)
    seen: list[str] = []
    with client.stream("POST", "/v1/chat/completions", json=body(), headers=AUTH) as response:
        lines = response.iter_lines()
        for line in lines:
            if line.startswith("data: ") and '"content":"' in line and '"content":""' not in line:
                seen.append(json.loads(line[6:])["choices"][0]["delta"]["content"])
            if "".join(seen) == "hi!":
                break
        finalized_while_streaming = chain.finalize.is_set()
        chain.finalize.set()
        rest = events_of(list(lines))
    assert "".join(seen) == "hi!" and not finalized_while_streaming
    assert rest[-2]["infera"]["finalized"] is True and rest[-1] == "[DONE]"


def test_a_route_not_started_yet_is_retried_then_streamed():
    chain = StreamChain(not_found=3)
    events = stream(chain, finalize_after_s=0.3)
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1] if e["choices"])
    assert text == "hi!" and chain.not_found == 0 and chain.watches_open == 1


def test_when_the_route_cannot_be_watched_the_finalized_text_comes_at_the_end():
    chain = StreamChain(fail_after=0)
    events = stream(chain)
    first, content, final, usage, done = events
    assert content["choices"][0]["delta"] == {"content": "hi!"}
    assert final["infera"]["finalized"] is True and done == "[DONE]"


def test_a_route_that_fails_midway_gets_the_rest_from_the_finalized_output():
    chain = StreamChain(fail_after=2)
    events = stream(chain, finalize_after_s=0.2)
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1] if e["choices"])
    assert text == "hi!" and events[-3]["infera"]["finalized"] is True


def test_when_the_chain_finalizes_another_output_the_stream_ends_with_an_error_event():
    """Route 0 streamed "hi!" but the chain finalized route 1's "ho!" (route 0 outvoted)."""
    chain = StreamChain(route="hi!", final="ho!")
    events = stream(chain, finalize_after_s=0.2)
    *_, final, error, done = events
    assert final["choices"][0]["delta"] == {} and final["infera"]["finalized"] is False
    assert final["infera"]["state"] == "FINALIZED" and final["infera"]["streamed_tokens"] == 3
    assert error["error"]["code"] == "stream_not_finalized" and error["error"]["type"]
    assert done == "[DONE]"
    assert all("usage" not in e or e["usage"] is None for e in events[:-1])  # no usage chunk


def test_an_expired_job_ends_the_stream_with_an_error_event_then_done():
    chain = StreamChain(final=None)
    *_, final, error, done = stream(chain, finalize_after_s=0.1)
    assert final["infera"]["finalized"] is False
    assert (
        error["error"]["code"] == "job_not_finalized" and "no quorum" in error["error"]["message"]
    )
    assert done == "[DONE]"


def test_a_stream_that_times_out_ends_with_a_timeout_error_event():
    chain = StreamChain()
    events = stream(chain, finalize_after_s=5.0, timeout_s=0.3)
    assert events[-2]["error"]["code"] == "timeout" and events[-1] == "[DONE]"
    chain.finalize.set()


def test_errors_before_the_stream_starts_are_http_errors():
    chain = StreamChain(covered=False)
    response = client_for(chain).post("/v1/chat/completions", json=body(), headers=AUTH)
    assert response.status_code == 429 and response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "no_capacity" and chain.submitted == []
    response = client_for(chain).post("/v1/chat/completions", json=body(), headers={})
    assert response.status_code == 401


def test_keep_alive_comments_flow_while_the_chain_decides():
    chain = StreamChain()
    events = stream(chain, finalize_after_s=0.5, keepalive_s=0.05)
    keepalives = [i for i, e in enumerate(events) if e == ": keep-alive"]
    assert len(keepalives) >= 3
    assert events[-1] == "[DONE]" and events[-3]["infera"]["finalized"] is True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_client_that_disconnects_mid_stream_leaves_nothing_running():
    """A real uvicorn server: the client reads the first token and goes away while the route
    stalls; the route watch is closed and no task of the stream is left."""
    chain = StreamChain(hang_after=1)
    app = create_app(chain, {"tiny": ByteTokenizer()},
                     Settings(api_keys=frozenset({KEY}), poll_s=0.01, keepalive_s=0.05))  # fmt: skip
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    loop_tasks: list[int] = []
    names: list[list[str]] = []

    def serve() -> None:
        async def main():
            serving = asyncio.ensure_future(server.serve())
            while not server.should_exit:
                loop_tasks.append(len(asyncio.all_tasks()))
                names.append(sorted(str(t.get_coro()) for t in asyncio.all_tasks()))
                await asyncio.sleep(0.05)
            await serving

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # a sample taken with the server up (its lifespan task included)
        idle_tasks = loop_tasks[-1]
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        with httpx.stream("POST", url, json=body(), headers=AUTH, timeout=10) as response:
            lines = response.iter_lines()  # kept: closing the iterator closes the connection
            for line in lines:
                if '"content":"h"' in line:
                    break
            time.sleep(0.2)  # keep-alives flow; the route is stalled
            open_while_streaming = chain.watches_open - chain.watches_closed
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (
            chain.watches_closed < chain.watches_open or loop_tasks[-1] > idle_tasks
        ):
            time.sleep(0.05)
        assert open_while_streaming == 1
        assert chain.watches_open == chain.watches_closed == 1
        assert loop_tasks[-1] <= idle_tasks, (names[0], names[-1])
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize("text", ["é", "日本"])
def test_a_character_split_across_tokens_is_sent_whole(text):
    """Byte-level tokens: a UTF-8 character of several tokens goes out once complete."""

    class Utf8Tokenizer(ByteTokenizer):
        def decode(self, tokens):
            return bytes(tokens).decode("utf-8", errors="replace")

    raw = text.encode()
    chain = StreamChain(route=raw.decode("latin-1"), final=raw.decode("latin-1"))
    chain.finalize.set()
    app = create_app(chain, {"tiny": Utf8Tokenizer()},
                     Settings(api_keys=frozenset({KEY}), poll_s=0.01))  # fmt: skip
    with TestClient(app).stream("POST", "/v1/chat/completions",
                                json=body(max_tokens=8), headers=AUTH) as response:  # fmt: skip
        events = events_of(list(response.iter_lines()))
    contents = [e["choices"][0]["delta"].get("content") for e in events[1:-2]]
    assert "".join(c for c in contents if c) == text
    assert all("\ufffd" not in (c or "") for c in contents)


def test_the_backend_watches_a_real_worker_server_with_the_submitters_signature():
    """ChainBackend.watch_tokens against a real Pipeline server: the worker accepts the
    gateway's signature (the job's submitter), streams the tokens, and refuses another key."""
    import hashlib

    import grpc
    from cosmpy.aerial.wallet import LocalWallet
    from cosmpy.crypto.keypairs import PrivateKey

    from chain.crypto import from_bech32, to_bech32
    from chain.gateway.backend import ChainBackend, sign_watch
    from infera.worker.v1 import pipeline_pb2 as pb
    from infera.worker.v1 import pipeline_pb2_grpc as pb_grpc
    from inference_worker.pipeline.frames import FrameSigner
    from inference_worker.pipeline.server import start_server

    worker_key = FrameSigner(hashlib.sha256(b"worker").digest())
    gateway = ChainBackend(
        None, LocalWallet(PrivateKey(hashlib.sha256(b"gw").digest()), prefix="infera")
    )
    stranger = ChainBackend(
        None, LocalWallet(PrivateKey(hashlib.sha256(b"x").digest()), prefix="infera")
    )

    async def scenario():
        server, service, port = await start_server([], "127.0.0.1:0", frame_signer=worker_key)
        head = RouteHead(to_bech32(worker_key.address), f"127.0.0.1:{port}")
        try:
            service.tokens.open(7, 0, from_bech32(gateway.address))
            for step, token in enumerate((5, 6, 7)):
                service.tokens.push(7, 0, step, token)
            service.tokens.finish(7, 0)
            got = [t async for t in gateway.watch_tokens(7, 0, head)]
            refusals = []
            for backend, job in ((stranger, 7), (gateway, 8)):
                with pytest.raises(WatchError) as err:
                    async for _ in backend.watch_tokens(job, 0, head):
                        pass
                refusals.append((str(err.value).split(":")[0], err.value.retry))
            # job 8 was refused NOT_FOUND: the retry once the route runs signs the same nonce
            pending = gateway._nonces[(8, 0, worker_key.address)]
            service.tokens.open(8, 0, from_bech32(gateway.address))
            service.tokens.finish(8, 0)
            assert [t async for t in gateway.watch_tokens(8, 0, head)] == []
            served = service.tokens.served[(8, 0)]
            # the attack: that request, captured on the wire, sent again
            replay = pb.WatchTokensRequest(
                session=pb.SessionKey(job_id=8, route_index=0),
                signature=sign_watch(gateway._key, worker_key.address, 8, 0, pending),
                nonce=pending,
            )
            async with grpc.aio.insecure_channel(head.endpoint) as channel:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    async for _ in pb_grpc.PipelineStub(channel).WatchTokens(replay, timeout=30):
                        pass
            return got, refusals, served, pending, err.value, gateway._nonces
        finally:
            await service.shutdown()
            await server.stop(grace=0.5)

    got, refusals, served, pending, replayed, left = asyncio.run(scenario())
    assert got == [5, 6, 7]
    assert refusals == [("PERMISSION_DENIED", False), ("NOT_FOUND", True)]
    assert served == {pending}
    assert replayed.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "already served" in replayed.details()
    assert left == {}  # served or refused for good: no nonce kept


def test_the_official_openai_client_streams_and_raises_at_the_error_event():
    """openai's own Stream parser over the app (TestClient is an httpx.Client): a finalized
    stream reads as chunks with the verdict; a mismatch raises APIError at the error event."""
    import openai

    def sdk(chain: StreamChain) -> openai.OpenAI:
        chain.finalize.set()
        return openai.OpenAI(base_url="http://testserver/v1", api_key=KEY, max_retries=0,
                             http_client=client_for(chain))  # fmt: skip

    messages = [{"role": "user", "content": "hello"}]
    chunks = list(sdk(StreamChain()).chat.completions.create(
        model="tiny", messages=messages, max_tokens=3, stream=True,
        stream_options={"include_usage": True}))  # fmt: skip
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "hi!"
    assert chunks[-2].model_extra["infera"]["finalized"] is True
    assert chunks[-1].usage.completion_tokens == 3
    read: list[str] = []
    with pytest.raises(openai.APIError, match="finalized another output"):
        for chunk in sdk(StreamChain(final="ho!")).chat.completions.create(
            model="tiny", messages=messages, max_tokens=3, stream=True
        ):
            read.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(read) == "hi!"  # the unverified text had been shown
