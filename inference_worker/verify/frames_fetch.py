"""Fetching a receiving hop's signed frames for the verifier (the dispute data path).

The validator's sidecar judges hop k on exactly what it received when hop k hands over the
frames it kept (VERIFICATION.md, "Judging a hop on what it received"). Hop k's worker serves
them on its registered endpoint (`Pipeline.ReceivedFrames`, pipeline/server.py). Nothing in the
answer is trusted: the size is capped before and while reading (`frames_byte_bound`, from the
route's positions and the model's hidden size), the call has a deadline, the bytes must decode
(`frames.decode_received_frames`), and the verifier uses them only when their chain ends in the
H_last its SENDER signed in the late evidence of hop k's reveal (`frames.received_states`).
Every failure (no endpoint, refused, timed out, oversized, garbage) is None: the hop is then
judged from the reference's recomputation of its input, as without the frames.

Networking (gRPC client); the sidecar takes any `FrameSource`, the bench harness an in-process
one over the workers' stores (`serve_from_store`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import chain.pb  # noqa: F401

import grpc
import structlog

from infera.worker.v1 import pipeline_pb2 as pb
from infera.worker.v1 import pipeline_pb2_grpc as pb_grpc
from infera.workers.v1 import query_pb2 as workers_query
from inference_worker.pipeline.frame_store import ReceivedFramesStore
from inference_worker.pipeline.frames import ReceivedFrame, decode_received_frames
from inference_worker.verify.fingerprint import PROBES, FingerprintError

log = structlog.get_logger("infera.verifier.frames")

FETCH_TIMEOUT_S = 10.0  # one ReceivedFrames call, connection included (seconds); a dead
# endpoint must not hold the sidecar past a verdict window (SmolLM2 14.5 MB in 10 s: 1.5 MB/s)
FRAME_OVERHEAD_BYTES = 48  # per frame: u32 sizes (8), codec header (<= 24 at 3 dims), slack
CHUNK_SLACK_BYTES = 64 * 1024  # gRPC message headroom over one chunk's data


class FramesUnavailable(Exception):
    """The receiving hop's frames could not be had (refused, absent, oversized, timed out)."""


class FrameSource(Protocol):
    """Where the sidecar gets a receiving hop's encoded frames: (job, route, hop, the hop's
    worker address, the most bytes it may send) -> the bytes, or raises FramesUnavailable."""

    def __call__(
        self, job_id: int, route_index: int, hop_index: int, worker: str, max_bytes: int
    ) -> bytes: ...


def frames_byte_bound(positions: int, hidden_size: int) -> int:
    """The most bytes an honest receiver's frames take for `positions` positions of width
    `hidden_size` (fp32 is the widest codec: 4 bytes a value; at most one frame a position)."""
    per_position = 4 * hidden_size + 2 + PROBES + FRAME_OVERHEAD_BYTES
    return 16 + positions * per_position


def decode_fetched(data: bytes, hidden_size: int) -> tuple[ReceivedFrame, ...] | None:
    """The frames of fetched bytes, or None when they are malformed or of another width."""
    try:
        hidden, frames = decode_received_frames(data)
    except FingerprintError as err:
        log.info("received frames malformed", error=str(err))
        return None
    if hidden != hidden_size or not frames:
        return None
    return frames


def fetch_received_frames(
    endpoint: str,
    *,
    job_id: int,
    route_index: int,
    hop_index: int,
    max_bytes: int,
    timeout_s: float = FETCH_TIMEOUT_S,
) -> bytes:
    """Call `Pipeline.ReceivedFrames` on `endpoint` ("host:port") and return the bytes; raises
    FramesUnavailable on any refusal, on more than `max_bytes` (announced or sent), or when
    the whole call takes longer than `timeout_s`."""
    request = pb.ReceivedFramesRequest(
        session=pb.SessionKey(job_id=job_id, route_index=route_index), hop_index=hop_index
    )
    limit = 1024 * 1024 + CHUNK_SLACK_BYTES  # server chunks are at most 1 MiB
    options = [("grpc.max_receive_message_length", limit), ("grpc.enable_retries", 0)]
    try:
        with grpc.insecure_channel(endpoint, options=options) as channel:
            stub = pb_grpc.PipelineStub(channel)
            return _read_chunks(stub.ReceivedFrames(request, timeout=timeout_s), max_bytes)
    except grpc.RpcError as err:
        code = err.code() if hasattr(err, "code") else None
        raise FramesUnavailable(f"{endpoint}: {code}") from err
    except ValueError as err:  # a malformed endpoint string
        raise FramesUnavailable(f"{endpoint}: {err}") from err


def _read_chunks(chunks: object, max_bytes: int) -> bytes:
    parts: list[bytes] = []
    total, size = -1, 0
    for chunk in chunks:  # type: ignore[attr-defined]
        if total < 0:
            total = chunk.total_bytes
            if total > max_bytes:
                raise FramesUnavailable(f"{total} bytes announced, at most {max_bytes}")
        if chunk.total_bytes != total:
            raise FramesUnavailable("the announced size changed between chunks")
        size += len(chunk.data)
        if size > total:
            raise FramesUnavailable("more bytes than announced")
        parts.append(chunk.data)
    if size != total:
        raise FramesUnavailable(f"{size} bytes of {max(total, 0)} announced")
    return b"".join(parts)


class PipelineFrameSource:
    """A `FrameSource` over gRPC: the hop's worker endpoint from the chain
    (`infera.workers.v1.Query/Worker`), then `fetch_received_frames`."""

    def __init__(self, rpc: object, *, timeout_s: float = FETCH_TIMEOUT_S) -> None:
        self.rpc = rpc  # the node client the sidecar queries (`query(path, request, type)`)
        self.timeout_s = timeout_s

    def endpoint_of(self, worker: str) -> str:
        try:
            answer = self.rpc.query(  # type: ignore[attr-defined]
                "/infera.workers.v1.Query/Worker",
                workers_query.QueryWorkerRequest(operator=worker),
                workers_query.QueryWorkerResponse,
            )
        except Exception as err:  # an unknown worker, or the node unreachable
            raise FramesUnavailable(f"no endpoint for {worker}: {err}") from err
        if not answer.worker.endpoint:
            raise FramesUnavailable(f"{worker} registered no endpoint")
        return str(answer.worker.endpoint)

    def __call__(
        self, job_id: int, route_index: int, hop_index: int, worker: str, max_bytes: int
    ) -> bytes:
        return fetch_received_frames(
            self.endpoint_of(worker), job_id=job_id, route_index=route_index,
            hop_index=hop_index, max_bytes=max_bytes, timeout_s=self.timeout_s,
        )  # fmt: skip


def serve_from_store(
    stores: Callable[[str], ReceivedFramesStore | None], now: Callable[[], float]
) -> FrameSource:
    """An in-process `FrameSource` (the bench harness, tests): the worker's own store, with the
    same lookup and size rule as `Pipeline.ReceivedFrames` and `fetch_received_frames`."""

    def source(job_id: int, route_index: int, hop_index: int, worker: str, max_bytes: int) -> bytes:
        store = stores(worker)
        data = None if store is None else store.get((job_id, route_index, hop_index), now=now())
        if data is None:
            raise FramesUnavailable(f"{worker} kept no frames for hop {hop_index}")
        if len(data) > max_bytes:
            raise FramesUnavailable(f"{len(data)} bytes, at most {max_bytes}")
        return data

    return source
