"""Split generation over real gRPC workers (no chain): the client keeps the embedding, the first
k layers, the last k' layers and the head (inference_worker.pipeline.split).

Tiny seeded Llama (5 layers, fp32), every worker a real in-process `Pipeline` server on
127.0.0.1 that signs its frames and requires signed ones. The client drives r routes with the
same states: its tokens equal the plain pipeline's (greedy and seeded sampling, with and without
a back split), every byte any worker receives (every HopFrame, every ReplyFrame relayed up) is
searched for the prompt's and the output's token ids, and a route that deviates is outvoted by
the client and has another split output hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import grpc
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chain.crypto import to_bech32
from infera.worker.v1 import pipeline_pb2 as pb
from infera.worker.v1 import pipeline_pb2_grpc as pb_grpc
from inference_worker.pipeline import sessions
from inference_worker.pipeline.frames import FrameSigner
from inference_worker.pipeline.generate import Sampling, generate
from inference_worker.pipeline.placement import PlacementError
from inference_worker.pipeline.server import HostedSpan, PipelineServer, start_server
from inference_worker.pipeline.shard import load_shard
from inference_worker.pipeline.split import (
    SplitError,
    SplitPlan,
    drive_split,
    load_split_model,
)
from inference_worker.verify.adversary import ComputeAttack, ComputeMode, load_adversarial_shard
from tests.inference_worker.pipeline_harness import generate_request

MODEL = "tiny"
PROMPT = [1, 5, 9, 22, 7, 3, 41, 17]
SAMPLING = Sampling(seed=1234, temperature=0.8, top_k=20)
NOISE = ComputeAttack(ComputeMode.NOISE, noise_std=0.05, seed=3)


def key(name: str) -> FrameSigner:
    return FrameSigner(hashlib.sha256(name.encode()).digest())


def address(name: str) -> str:
    return to_bech32(key(name).address)


class Workers:
    """In-process Pipeline servers by name, each signing with its own key; `received` holds
    every frame (HopFrame) and every reply (ReplyFrame) any of them was sent, serialized."""

    def __init__(self) -> None:
        self.servers: dict[str, tuple[grpc.aio.Server, PipelineServer, int]] = {}
        self.received: list[bytes] = []

    async def add(self, model_dir, name, span, attack=None) -> pb.Hop:
        shard = load_adversarial_shard(model_dir, *span, attack or ComputeAttack())
        server = await start_server(
            [HostedSpan(MODEL, shard)], "127.0.0.1:0", frame_signer=key(name),
            require_signed_frames=True,
        )  # fmt: skip
        service = server[1]
        on_frame = service._on_frame

        async def recording(frame, upstream):
            self.received.append(frame.SerializeToString())
            await on_frame(frame, upstream)

        service._on_frame = recording  # type: ignore[method-assign]
        self.servers[name] = server
        return pb.Hop(worker=address(name), endpoint=f"127.0.0.1:{server[2]}",
                      layer_start=span[0], layer_end=span[1])  # fmt: skip

    async def close(self) -> None:
        for server, service, _ in self.servers.values():
            await service.shutdown()
            await server.stop(grace=0.5)


@pytest.fixture(autouse=True)
def replies_recorded(monkeypatch):
    """Every ReplyFrame a worker sends up (what the hop above it receives)."""
    sent: list[bytes] = []
    original = sessions.Upstream.send

    def send(self, reply):
        sent.append(reply.SerializeToString())
        original(self, reply)

    monkeypatch.setattr(sessions.Upstream, "send", send)
    return sent


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def plain_tokens(model_dir, max_new_tokens, sampling=None) -> list[int]:
    shards = [load_shard(model_dir, 0, 5)]
    out = generate(shards, PROMPT, max_new_tokens=max_new_tokens, eos_ids=set(), sampling=sampling)
    return out.tokens


async def _routes(model_dir, workers, served, r, attacks=None):
    """r routes of two hops each over `served` = (k, L - k'), every hop its own worker."""
    k, end = served
    middle = k + 1
    routes = []
    for i in range(r):
        attack = (attacks or {}).get(i)
        first = await workers.add(model_dir, f"r{i}-a", (k, middle))
        last = await workers.add(model_dir, f"r{i}-b", (middle, end), attack)
        routes.append([first, last])
    return routes


async def _split(model_dir, plan, routes, max_new_tokens, sampling=None):
    model = load_split_model(model_dir, plan)
    return await drive_split(
        model, routes, PROMPT, model_id=MODEL, job_id=7, max_new_tokens=max_new_tokens,
        sampling=sampling, client=address("client"), signer=key("client"),
        progress_timeout_s=20,
    )  # fmt: skip


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def needles(ids: list[int]) -> dict[str, bytes]:
    """Token ids in every encoding they could travel in."""
    return {
        "u32be": b"".join(struct.pack(">I", i) for i in ids),
        "u32le": b"".join(struct.pack("<I", i) for i in ids),
        "varint": b"".join(varint(i) for i in ids),
        "i64le": b"".join(struct.pack("<q", i) for i in ids),
        "decimal": ", ".join(map(str, ids)).encode(),
    }


def found(blobs: list[bytes], patterns: dict[str, bytes]) -> list[str]:
    return sorted({name for blob in blobs for name, pat in patterns.items() if pat in blob})


@pytest.mark.parametrize("plan", [SplitPlan(1, 1), SplitPlan(2, 0)], ids=["k1-tail1", "k2-tail0"])
def test_split_tokens_equal_the_plain_pipeline_greedy_and_sampled(tiny_models, plan):
    model_dir = tiny_models["llama"]

    async def scenario():
        workers = Workers()
        try:
            routes = await _routes(model_dir, workers, plan.served(5), r=2)
            greedy = await _split(model_dir, plan, routes, 10)
            sampled = await _split(model_dir, plan, routes, 10, SAMPLING)
        finally:
            await workers.close()
        return greedy, sampled

    greedy, sampled = asyncio.run(scenario())
    assert greedy.tokens == plain_tokens(model_dir, 10)
    assert sampled.tokens == plain_tokens(model_dir, 10, SAMPLING)
    assert sampled.tokens != greedy.tokens  # the seeded sampling really sampled
    for result in (greedy, sampled):
        assert result.agreed and len(set(result.route_hashes)) == 1
        assert len(result.step_round_trip_s) == 10


def test_the_split_equals_a_public_route_over_grpc(tiny_models):
    model_dir = tiny_models["llama"]

    async def scenario():
        workers = Workers()
        try:
            public = [await workers.add(model_dir, "p0", (0, 2)), await workers.add(
                model_dir, "p1", (2, 5))]  # fmt: skip
            request = generate_request(MODEL, public, PROMPT, 8)
            async with grpc.aio.insecure_channel(public[0].endpoint) as channel:
                events = [e async for e in pb_grpc.PipelineStub(channel).Generate(request)]
            routes = await _routes(model_dir, workers, (1, 4), r=1)
            split = await _split(model_dir, SplitPlan(1, 1), routes, 8)
        finally:
            await workers.close()
        return [e.token.token_id for e in events if e.HasField("token")], split

    public_tokens, split = asyncio.run(scenario())
    assert split.tokens == public_tokens and len(public_tokens) == 8


def test_no_byte_a_worker_receives_holds_the_prompt_or_output_token_ids(
    tiny_models, replies_recorded
):
    model_dir = tiny_models["llama"]

    async def scenario():
        workers = Workers()
        try:
            routes = await _routes(model_dir, workers, (1, 4), r=2)
            result = await _split(model_dir, SplitPlan(1, 1), routes, 10, SAMPLING)
        finally:
            await workers.close()
        return workers.received, result

    received, result = asyncio.run(scenario())
    blobs = received + replies_recorded
    assert len(received) >= 4 * 10  # every hop got every step (opens and closes besides)
    assert found(blobs, needles(PROMPT)) == []
    assert found(blobs, needles(result.tokens)) == []
    assert not any(str(SAMPLING.seed).encode() in b or struct.pack(">Q", SAMPLING.seed) in b
                   for b in blobs)  # fmt: skip
    # control: the same search finds the ids in a plain Generate request
    plain = generate_request(MODEL, [], PROMPT, 4).SerializeToString()
    assert "varint" in found([plain], needles(PROMPT))


def test_a_deviating_route_is_outvoted_and_has_another_output_hash(tiny_models):
    model_dir = tiny_models["llama"]

    async def scenario():
        workers = Workers()
        try:
            routes = await _routes(model_dir, workers, (1, 4), r=3, attacks={1: NOISE})
            return await _split(model_dir, SplitPlan(1, 1), routes, 6)
        finally:
            await workers.close()

    result = asyncio.run(scenario())
    assert result.tokens == plain_tokens(model_dir, 6)
    assert not result.agreed
    assert set(result.divergent_steps) == set(range(6))
    assert all(routes == [1] for routes in result.divergent_steps.values())
    honest, bad, other = result.route_hashes
    assert honest == other != bad


def test_a_route_that_does_not_end_where_the_split_starts_is_refused(tiny_models):
    model_dir = tiny_models["llama"]

    async def scenario():
        workers = Workers()
        try:
            hop = await workers.add(model_dir, "whole", (1, 5))
            with pytest.raises(SplitError, match="ends at layer 5"):
                await _split(model_dir, SplitPlan(1, 1), [[hop]], 2)
            # a worker refuses a split open whose route leaves no layer to the client
            bad = pb.OpenSession(
                session=pb.SessionKey(job_id=1), model_id=MODEL, hop_index=1, codec="fp32",
                dtype="float32", progress_timeout_ms=[1, 1],
                hops=[pb.Hop(worker="c", layer_start=0, layer_end=1), hop],
                split=pb.SplitSession(tail_layers=5),
            )  # fmt: skip
            async with grpc.aio.insecure_channel(hop.endpoint) as channel:
                call = pb_grpc.PipelineStub(channel).Stream()
                await call.write(pb.HopFrame(open=bad))
                reply = await call.read()
                call.cancel()
            return reply
        finally:
            await workers.close()

    reply = asyncio.run(scenario())
    assert reply.error.code == pb.ERROR_CODE_UNSUPPORTED


def test_split_plans_that_leave_no_served_layer_are_refused():
    for plan in (SplitPlan(0, 1), SplitPlan(2, 3), SplitPlan(4, 1), SplitPlan(1, -1)):
        with pytest.raises(SplitError):
            plan.served(5)
    assert SplitPlan(1, 1).served(5) == (1, 4)


@settings(max_examples=60, deadline=None)
@given(
    tail=st.integers(0, 2**32 - 1),
    spans=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=0, max_size=4),
    hop_index=st.integers(0, 5),
)
@example(tail=1, spans=[(0, 1), (1, 4)], hop_index=1)  # the valid open: accepted
def test_a_hostile_split_open_is_refused_with_a_frame_error_only(
    tiny_models, tail, spans, hop_index
):
    shard = _fuzz_shard(tiny_models["llama"])
    hops = [pb.Hop(worker=f"w{i}", layer_start=a, layer_end=b) for i, (a, b) in enumerate(spans)]
    msg = pb.OpenSession(
        session=pb.SessionKey(job_id=1), model_id=MODEL, hops=hops, hop_index=hop_index,
        codec="fp32", dtype="float32", progress_timeout_ms=[1] * len(hops),
        split=pb.SplitSession(tail_layers=tail),
    )  # fmt: skip
    try:
        span = sessions.check_open({(MODEL, 1, 4): HostedSpan(MODEL, shard)}, msg)
    except (sessions.FrameError, PlacementError):
        return
    route_end = hops[-1].layer_end
    assert span.shard is shard and route_end == 5 - tail and hops[0].layer_end >= 1


_SHARDS: dict[str, object] = {}


def _fuzz_shard(model_dir):
    if "shard" not in _SHARDS:
        _SHARDS["shard"] = load_shard(model_dir, 1, 4)
    return _SHARDS["shard"]
