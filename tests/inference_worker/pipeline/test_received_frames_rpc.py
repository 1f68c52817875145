"""`Pipeline.ReceivedFrames` on real in-process servers (tiny llama, 3 signed hops): a finished
session's receivers keep what they received and serve it to a verifier, whose claim is then
judged on those frames; hostile or wrong requests get a clear refusal."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import chain.pb  # noqa: F401

import grpc
import pytest
import torch

from infera.worker.v1 import pipeline_pb2 as pb
from inference_worker.pipeline.frames import decode_received_frames
from inference_worker.verify.evidence import RouteClaim, hop_claim_from_reveal
from inference_worker.verify.fingerprint import derive_probe_seed
from inference_worker.verify.frames_fetch import (
    FramesUnavailable,
    PipelineFrameSource,
    fetch_received_frames,
)
from inference_worker.verify.sidecar import with_received_frames
from inference_worker.verify.verifier import ReferenceModel, verify_route
from tests.inference_worker.pipeline.test_signed_pipeline import (
    MODEL,
    PROMPT,
    SPANS,
    _driver_reveal,
    _net,
)
from tests.inference_worker.pipeline_harness import generate_request

JOB = 12
HIDDEN = 64
RPC = "/infera.worker.v1.Pipeline/ReceivedFrames"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _raw_call(endpoint: str, request_bytes: bytes) -> grpc.StatusCode:
    """Send raw request bytes (what a hostile client can) and return the status code."""
    with grpc.insecure_channel(endpoint) as channel:
        call = channel.unary_stream(RPC, request_serializer=lambda b: b,
                                    response_deserializer=pb.ReceivedFramesChunk.FromString)  # fmt: skip
        try:
            list(call(request_bytes, timeout=10))
        except grpc.RpcError as err:
            return err.code()
    return grpc.StatusCode.OK


def test_receivers_serve_their_frames_and_refuse_wrong_requests(tiny_models):
    model_dir = tiny_models["llama"]
    out: dict = {}

    async def scenario():
        net = await _net(model_dir)
        try:
            route = [net.hop("first", SPANS[0]), net.hop("middle", SPANS[1]),
                     net.hop("last", SPANS[2])]  # fmt: skip
            tokens, done = await net.generate(generate_request(MODEL, route, PROMPT, 8, job_id=JOB))
            await asyncio.sleep(0.3)  # the closes reach the other hops
            out["route"], out["tokens"] = route, tokens
            out["bare claim"] = _claim_from_reveals(model_dir, route, tokens, net.records)
            await asyncio.to_thread(_fetches, route, out)
        finally:
            await net.close()

    asyncio.run(scenario())
    # Each receiver's bytes decode to the frames it received (21 positions over its frames).
    for hop in (1, 2):
        hidden, frames = decode_received_frames(out[hop])
        assert hidden == HIDDEN and sum(len(f.rows) // 8 for f in frames) == len(PROMPT) + 7
    assert out["refusals"] == {
        "hop 0": "INVALID_ARGUMENT: name a job and a receiving hop (index >= 1)",
        "job 0": "INVALID_ARGUMENT: name a job and a receiving hop (index >= 1)",
        "another job": "NOT_FOUND: no received frames kept for that hop",
        "another route": "NOT_FOUND: no received frames kept for that hop",
        "the first hop's worker": "NOT_FOUND: no received frames kept for that hop",
    }
    assert out["oversized request"] == grpc.StatusCode.INVALID_ARGUMENT
    # not a request: gRPC's own decoding refuses it (UNKNOWN), and the worker serves on
    assert out["garbage request"] == grpc.StatusCode.UNKNOWN
    assert out["after garbage"] == out[1]
    assert "bytes announced" in out["under the cap"]
    assert "UNAVAILABLE" in out["nobody listening"]
    # The verifier judges both receivers on the frames fetched over the RPC.
    verdict = verify_route(ReferenceModel.load(model_dir), out["claim"])
    assert verdict.ok and [c.input for c in verdict.hops] == ["reference", "frames", "frames"]


def _claim_from_reveals(model_dir, route, tokens, records) -> RouteClaim:
    """The route's claim as the sidecar builds it from the reveals (hop 0's: recomputed)."""
    reveals = {r.hop_index: r.fingerprint for r in records if r.job_id == JOB}
    return RouteClaim(
        prompt_ids=tuple(PROMPT), tokens=tuple(tokens), max_new_tokens=8,
        probe_seed=derive_probe_seed(JOB), job_id=JOB, route_index=0,
        hops=tuple(
            hop_claim_from_reveal(h.layer_start, h.layer_end, torch.float32,
                                  reveals.get(k, _driver_reveal(model_dir, tokens)), worker=h.worker)
            for k, h in enumerate(route)
        ),
    )  # fmt: skip


def _fetches(route, out) -> None:
    """The client side, in a thread (the verifier's sidecar is synchronous)."""
    endpoint = {k: h.endpoint for k, h in enumerate(route)}
    cap = 10**7
    for hop in (1, 2):
        out[hop] = fetch_received_frames(
            endpoint[hop], job_id=JOB, route_index=0, hop_index=hop, max_bytes=cap
        )
    wrong = {
        "hop 0": (endpoint[1], JOB, 0, 0),
        "job 0": (endpoint[1], 0, 0, 1),
        "another job": (endpoint[1], JOB + 1, 0, 1),
        "another route": (endpoint[1], JOB, 1, 1),
        "the first hop's worker": (endpoint[0], JOB, 0, 1),
    }
    out["refusals"] = {}
    for name, (where, job, route_index, hop) in wrong.items():
        try:
            fetch_received_frames(where, job_id=job, route_index=route_index, hop_index=hop,
                                  max_bytes=cap)  # fmt: skip
        except FramesUnavailable as err:
            cause = err.__cause__
            out["refusals"][name] = f"{cause.code().name}: {cause.details()}"  # type: ignore[union-attr]
    request = pb.ReceivedFramesRequest(session=pb.SessionKey(job_id=JOB), hop_index=1)
    out["oversized request"] = _raw_call(endpoint[1], request.SerializeToString() + b"\x7a"
                                         + bytes([0x80, 0x40]) + bytes(8192))  # fmt: skip
    out["garbage request"] = _raw_call(endpoint[1], b"\xff" * 16)
    out["after garbage"] = fetch_received_frames(
        endpoint[1], job_id=JOB, route_index=0, hop_index=1, max_bytes=cap
    )
    try:
        fetch_received_frames(endpoint[1], job_id=JOB, route_index=0, hop_index=1, max_bytes=100)
    except FramesUnavailable as err:
        out["under the cap"] = str(err)
    try:
        fetch_received_frames("127.0.0.1:1", job_id=JOB, route_index=0, hop_index=1,
                              max_bytes=cap, timeout_s=5)  # fmt: skip
    except FramesUnavailable as err:
        out["nobody listening"] = str(err)
    # The sidecar's source: the hop's endpoint from the chain's worker record, then the RPC.
    by_worker = {h.worker: h.endpoint for h in route}

    class Node:
        def query(self, path, request, response):
            return SimpleNamespace(worker=SimpleNamespace(endpoint=by_worker[request.operator]))

    out["claim"] = with_received_frames(out["bare claim"], PipelineFrameSource(Node()), HIDDEN)


def test_only_public_sessions_with_valid_late_evidence_keep_their_frames():
    """A sealed job's late hash is not the plain hash of its tokens: its states would leak the
    prompt to anyone asking, so they are not kept; nor frames without valid late evidence (a
    verifier could not use them)."""
    import time

    from inference_worker.pipeline.codec import encode
    from inference_worker.pipeline.frames import ReceivedFrame
    from inference_worker.pipeline.server import PipelineServer
    from inference_worker.verify.commits import compute_output_hash

    server = PipelineServer([])
    frames = [ReceivedFrame(encode(torch.ones(1, 2, HIDDEN), "fp32"), bytes(16))]
    receiver = SimpleNamespace(late=SimpleNamespace(hidden_size=HIDDEN), frames=frames)
    session = SimpleNamespace(receiver=receiver, key=(5, 0), index=1)
    tokens = (1, 2, 3)
    server._keep_received_frames(session, tokens, bytes(32))  # a sealed hash
    assert len(server.received_frames) == 0
    receiver.late = None
    server._keep_received_frames(session, tokens, compute_output_hash(tokens))
    assert len(server.received_frames) == 0
    receiver.late = SimpleNamespace(hidden_size=HIDDEN)
    server._keep_received_frames(session, tokens, compute_output_hash(tokens))
    kept = server.received_frames.get((5, 0, 1), now=time.monotonic())
    assert kept is not None and decode_received_frames(kept) == (HIDDEN, tuple(frames))
    server.executor.shutdown(wait=False)
