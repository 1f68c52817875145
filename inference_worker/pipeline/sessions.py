"""The state a Pipeline server keeps per worker, stream and session (data and compute, no networking).

`ServerLimits` is what one worker accepts; a `Session` (key: job id, route index) is one hop's
view of one route: its KV cache, the frame checks of what it receives, the sealing of what it
sends, the link to the next hop and the tokens it has seen come back. `SessionRecord` is what a
hop commits to when a session ends normally. `check_open` validates an OpenSession and
`run_hop` is one frame's compute (on the server's compute thread).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import torch

from infera.worker.v1 import pipeline_pb2 as pb
from inference_worker.pipeline.codec import CODECS, decode
from inference_worker.pipeline.frames import FrameReceiver, FrameSeal, FrameSender, seal_frame
from inference_worker.pipeline.generate import Sampling
from inference_worker.pipeline.link import DownstreamLink
from inference_worker.pipeline.placement import check_route
from inference_worker.pipeline.route import DTYPE_NAMES, hop_from_pb
from inference_worker.pipeline.shard import SessionCache, Shard
from inference_worker.verify.adversary import choose_token, forward_reported
from inference_worker.verify.fingerprint import KeptStates

if TYPE_CHECKING:
    from inference_worker.accel.hop import HopAccelerator, HopSession

SessionId = tuple[int, int]  # (job id, route index)


@dataclass(frozen=True)
class ServerLimits:
    """What one worker accepts."""

    max_frame_bytes: int = 32 * 1024 * 1024  # hidden-state bytes in one frame (codec payload)
    max_sessions: int = 64  # sessions held at once (a new open beyond gets BUSY)
    # Positions one session may run (prompt + output; more gets TOO_LARGE). A session keeps
    # its states until the output is known (late fingerprints): its output, and on a signed
    # session what it received and what it sent, each positions x hidden x 4 bytes in fp32
    # (SmolLM2, hidden 576: 6.9 KB a position, 42 MB at 6132 positions; x max_sessions).
    max_session_positions: int = 8192
    session_idle_timeout_s: float = 300.0  # seconds without a frame or reply before EXPIRED
    default_progress_timeout_s: float = 30.0  # Generate requests that name no timeout (seconds)


@dataclass(frozen=True)
class HostedSpan:
    """One span of one model this worker serves."""

    model_id: str
    shard: Shard
    model_dir: Path | None = None  # the prepared folder (tokenizer for the first hop)
    # the worker's acceleration of its sessions on this span (accel/hop.py); None: plain
    accel: HopAccelerator | None = None


@dataclass(frozen=True)
class SessionRecord:
    """What a hop saw of a session that ended normally (CloseSession): what it commits to."""

    job_id: int
    route_index: int
    hop_index: int
    model_id: str
    hops: tuple[pb.Hop, ...]  # the route as this hop last knew it
    tokens: tuple[int, ...]  # the route's output, every step's token in order
    fingerprint: bytes  # what it reveals: its own late fingerprint + the sender-signed late
    # rows it received (reveal.encode_reveal)


class FrameError(Exception):
    """A frame this hop refuses; answered with a SessionError of `code`."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class Upstream:
    """One incoming stream: the replies queued for it and the sessions it opened."""

    def __init__(self) -> None:
        self.replies: asyncio.Queue[pb.ReplyFrame | None] = asyncio.Queue()
        self.sessions: set[SessionId] = set()

    def send(self, reply: pb.ReplyFrame) -> None:
        self.replies.put_nowait(reply)


@dataclass
class Session:
    key: SessionId
    span: HostedSpan
    open: pb.OpenSession
    owner: Upstream
    cache: SessionCache
    sampler: tuple[Sampling | None, torch.Generator | None]
    outputs: KeptStates  # this hop's output, fingerprinted once the route's output is known
    receiver: FrameReceiver  # checks the frames (and late evidence) from the hop before
    sender: FrameSender | None = None  # seals the frames this hop sends (None on the last hop)
    link: DownstreamLink | None = None
    tokens: dict[int, int] = field(default_factory=dict)  # step -> token seen coming back
    seen: int = 0  # positions run through this hop
    next_step: int = 0
    last_active: float = field(default_factory=time.monotonic)
    accel: HopSession | None = None  # chosen at the first frame when the span has `accel`

    @property
    def index(self) -> int:
        return int(self.open.hop_index)

    @property
    def is_last(self) -> bool:
        return self.index == len(self.open.hops) - 1

    @property
    def is_split(self) -> bool:
        """A split job's session: the last hop returns states to the client, never a token."""
        return self.open.HasField("split")


def session_output(session: Session) -> tuple[int, ...] | None:
    """The route's output as this hop saw it (a token for every step run), or None."""
    steps = session.next_step
    if steps == 0 or any(s not in session.tokens for s in range(steps)):
        return None
    return tuple(session.tokens[s] for s in range(steps))


def session_key(msg: pb.SessionKey) -> SessionId:
    return (int(msg.job_id), int(msg.route_index))


def pb_session_key(key: SessionId) -> pb.SessionKey:
    return pb.SessionKey(job_id=key[0], route_index=key[1])


def check_open(spans: dict[tuple[str, int, int], HostedSpan], msg: pb.OpenSession) -> HostedSpan:
    """The hosted span an OpenSession asks for, after checking the route it names (FrameError)."""
    if not msg.HasField("session") or not 1 <= msg.hop_index < len(msg.hops):
        raise FrameError(pb.ERROR_CODE_MALFORMED, "open needs a session and 1 <= hop_index")
    hop = msg.hops[msg.hop_index]
    span = spans.get((msg.model_id, hop.layer_start, hop.layer_end))
    if span is None:
        raise FrameError(
            pb.ERROR_CODE_UNSUPPORTED,
            f"this worker does not serve {msg.model_id!r} layers "
            f"[{hop.layer_start}, {hop.layer_end})",
        )
    check_route([hop_from_pb(h) for h in msg.hops], served_layers(msg, span.shard.num_layers))
    if msg.codec not in CODECS:
        raise FrameError(pb.ERROR_CODE_UNSUPPORTED, f"unknown codec {msg.codec!r}")
    if msg.dtype != DTYPE_NAMES[span.shard.dtype]:
        raise FrameError(
            pb.ERROR_CODE_UNSUPPORTED,
            f"session dtype {msg.dtype!r}, this hop computes in {span.shard.dtype}",
        )
    if len(msg.progress_timeout_ms) != len(msg.hops):
        raise FrameError(pb.ERROR_CODE_MALFORMED, "one progress timeout per hop is needed")
    if msg.decoding.sample and msg.decoding.temperature_milli == 0:
        raise FrameError(pb.ERROR_CODE_MALFORMED, "sampling needs a temperature above 0")
    return span


def served_layers(msg: pb.OpenSession, num_layers: int) -> int:
    """Where the open's route must end: every layer, or a split session's first client-side
    tail layer (the client, hops[0], must run at least one layer itself: FrameError)."""
    if not msg.HasField("split"):
        return num_layers
    tail = int(msg.split.tail_layers)
    if tail >= num_layers or len(msg.hops) < 2 or msg.hops[0].layer_end < 1:
        raise FrameError(
            pb.ERROR_CODE_UNSUPPORTED,
            f"a split session needs client layers [0, k >= 1) and tail {tail} < {num_layers}",
        )
    return num_layers - tail


def run_hop(
    session: Session,
    data: bytes,
    seal: FrameSeal,
    shape: tuple[int, ...],
    codec: str,
    max_frame_bytes: int,
) -> tuple[tuple[int, ...], bytes, FrameSeal] | int:
    """Decode and check the frame's evidence, run the span, then encode and seal for the
    next hop or select the token (executor). Raises FrameEvidenceError before any compute
    when the sender's signed rows do not match the payload."""
    shard = session.span.shard
    with torch.inference_mode():
        hidden = decode(data, codec, expected_shape=shape, max_bytes=max_frame_bytes)
        session.receiver.accept(hidden, data, seal)
        if session.span.accel is None:
            return _run_span(session, hidden, codec)
        if session.accel is None:  # the first frame: choose this session's acceleration
            session.accel = session.span.accel.session(
                shard, hidden[0], session=session.key, hop=session.index
            )
        with session.accel.compute():
            return _run_span(session, hidden, codec)


def _run_span(
    session: Session, hidden: torch.Tensor, codec: str
) -> tuple[tuple[int, ...], bytes, FrameSeal] | int:
    shard = session.span.shard

    def forward(first: int) -> tuple[torch.Tensor, torch.Tensor]:
        return forward_reported(shard, hidden[:, first:], cache=session.cache)  # (1, n, hidden)

    if session.accel is not None and session.seen == 0:  # the prefill, maybe from the store
        sent, reported = session.accel.prefill(hidden[0], session.cache, forward)
    else:
        sent, reported = forward(0)
    session.outputs.add(reported)  # what this hop produced, before the wire codec
    if session.is_last and not session.is_split:
        return choose_token(shard, shard.head(sent)[0], *session.sampler)
    # the next hop's frame, or a split session's states returned to the client
    assert session.sender is not None
    return tuple(sent.shape), *seal_frame(session.sender, sent, reported, codec)
