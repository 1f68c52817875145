"""The sending side of a pipeline session: this hop's stream to the next hop (networking).

A `DownstreamLink` opens the session on the next hop, sends its hidden-state frames and hands
every reply (tokens, errors relayed from further down) to its owner. It keeps every frame it
sent, so that when the next hop dies, refuses or stalls, `reroute` can open the session on a
replacement and replay them: the replacement rebuilds its KV cache from exactly the bytes the
failed hop saw. Failures are reported once per connection through `on_failure`; frames sent
while the link is down are kept and go out with the replay.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import grpc

from infera.worker.v1 import pipeline_pb2 as pb
from infera.worker.v1 import pipeline_pb2_grpc as pb_grpc

GRPC_SLACK_BYTES = 1 << 20  # room for the frame's other fields above the hidden-state bytes
CLOSE_GRACE_S = 5.0  # how long a closing link waits for the next hop to end the stream
# Errors passed up as they are: their failed_hop names the hop to replace (BAD_FRAME_EVIDENCE
# names the SENDER of a refused frame, not the target that refused it).
_RELAYED = (pb.ERROR_CODE_HOP_FAILED, pb.ERROR_CODE_BAD_FRAME_EVIDENCE)


class ChannelPool:
    """One gRPC channel per endpoint, shared by every link of a process."""

    def __init__(self, max_message_bytes: int):
        self._options = [
            ("grpc.max_send_message_length", max_message_bytes + GRPC_SLACK_BYTES),
            ("grpc.max_receive_message_length", max_message_bytes + GRPC_SLACK_BYTES),
        ]
        self._channels: dict[str, grpc.aio.Channel] = {}

    def stub(self, endpoint: str) -> pb_grpc.PipelineStub:
        if endpoint not in self._channels:
            self._channels[endpoint] = grpc.aio.insecure_channel(endpoint, options=self._options)
        return pb_grpc.PipelineStub(self._channels[endpoint])

    async def close(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close()


class DownstreamLink:
    """One session's stream to hop `open_frame.hop_index` of its route."""

    def __init__(
        self,
        channels: ChannelPool,
        open_frame: pb.OpenSession,
        *,
        progress_timeout_s: float,
        on_reply: Callable[[pb.ReplyFrame], None],
        on_failure: Callable[[int, str], None],
    ):
        self._channels = channels
        self._open = pb.OpenSession()
        self._open.CopyFrom(open_frame)
        self._timeout_s = progress_timeout_s
        self._on_reply = on_reply
        self._on_failure = on_failure
        self._kept: list[pb.HopFrame] = []  # every hidden-state frame sent, in order
        self._awaiting: set[int] = set()  # steps sent whose token has not come back
        self._timer: asyncio.TimerHandle | None = None
        self._call: grpc.aio.StreamStreamCall | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one writer at a time
        self._down = True  # no live stream (before connect, after a failure)
        self._closed = False
        self.bytes_sent = 0  # serialized frame bytes written, replays included

    @property
    def target(self) -> pb.Hop:
        """The hop this link sends to."""
        return self._open.hops[self._open.hop_index]

    @property
    def hop_index(self) -> int:
        return int(self._open.hop_index)

    def set_hop(self, index: int, hop: pb.Hop) -> None:
        """Record a replacement of route hop `index` (sent along with the next open)."""
        self._open.hops[index].CopyFrom(hop)

    async def connect(self) -> None:
        """Open the stream and the session on the target hop."""
        async with self._lock:
            await self._connect_locked()

    async def send(self, hidden: pb.HiddenStates) -> None:
        """Keep and send one step; the link then expects that step's token."""
        frame = pb.HopFrame(hidden=hidden)
        async with self._lock:
            self._kept.append(frame)
            self._expect(hidden.step)
            if not self._down:
                await self._write(frame)

    async def forward(self, frame: pb.HopFrame, *, expect_step: int | None = None) -> None:
        """Send a control frame (a Reroute for a hop further down) without keeping it."""
        async with self._lock:
            if frame.HasField("reroute"):
                self.set_hop(frame.reroute.hop_index + 1, frame.reroute.replacement)
            if expect_step is not None:
                self._expect(expect_step)
            if not self._down:
                await self._write(frame)

    async def reroute(self, replacement: pb.Hop) -> None:
        """Send to `replacement` from now on: open the session there and replay every kept
        frame, in order, so that it rebuilds its state exactly."""
        async with self._lock:
            self._disconnect()
            self.set_hop(self.hop_index, replacement)
            self._awaiting = {f.hidden.step for f in self._kept[-1:]}
            await self._connect_locked()
            for frame in self._kept:
                if self._down:
                    break
                await self._write(frame)
            self._arm()

    async def close(self, reason: str = "") -> None:
        """End the session on the next hops (CloseSession: an empty reason is a normal end,
        anything else aborts it), then the stream."""
        async with self._lock:
            self._closed = True
            self._cancel_timer()
            call, reader = self._call, self._reader
            if call is None or self._down:
                self._disconnect()
                return
            with contextlib.suppress(Exception):
                close = pb.CloseSession(session=self._open.session, reason=reason)
                await call.write(pb.HopFrame(close=close))
                await call.done_writing()
        if reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(reader), CLOSE_GRACE_S)
        self._disconnect()

    # --- internals ---------------------------------------------------------------------------

    async def _connect_locked(self) -> None:
        self._call = self._channels.stub(self.target.endpoint).Stream()
        self._down = False
        self._reader = asyncio.get_running_loop().create_task(self._read(self._call))
        await self._write(pb.HopFrame(open=self._open))

    def _disconnect(self) -> None:
        self._cancel_timer()
        if self._reader is not None:
            self._reader.cancel()
        if self._call is not None:
            self._call.cancel()
        self._call, self._reader, self._down = None, None, True

    async def _write(self, frame: pb.HopFrame) -> None:
        assert self._call is not None
        call = self._call
        try:
            await call.write(frame)
            self.bytes_sent += frame.ByteSize()
        except (
            grpc.aio.AioRpcError,
            grpc.aio.UsageError,
            asyncio.InvalidStateError,
            OSError,
        ) as err:
            self._fail(call, f"sending failed: {_describe(err)}")

    async def _read(self, call: grpc.aio.StreamStreamCall) -> None:
        try:
            async for reply in call:
                self._handle_reply(call, reply)
            ended = "the stream ended"
        except grpc.aio.AioRpcError as err:
            ended = _describe(err)
        except asyncio.CancelledError:
            return  # this link left the stream (reroute, close, failure)
        if call is self._call and not self._closed:
            self._fail(call, ended)

    def _handle_reply(self, call: grpc.aio.StreamStreamCall, reply: pb.ReplyFrame) -> None:
        if call is not self._call:
            return  # a stream this link has left
        if reply.HasField("error") and reply.error.code not in _RELAYED:
            name = pb.ErrorCode.Name(reply.error.code)
            self._fail(call, f"refused the session: {name}: {reply.error.message}")
            return
        if reply.HasField("error"):  # a hop further down failed, or the target refused this
            # hop's (or a relaying hop's) frame evidence: relayed as is, wait for the Reroute
            self._awaiting.clear()
        else:  # a token, or a split session's returned states
            self._awaiting.discard(
                reply.hidden.step if reply.HasField("hidden") else reply.token.step
            )
        self._cancel_timer()
        self._arm()
        self._on_reply(reply)

    def _expect(self, step: int) -> None:
        self._awaiting.add(step)
        if self._timer is None:
            self._arm()

    def _arm(self) -> None:
        if self._awaiting and not self._down and self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._timeout_s, self._on_timeout, self._call)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timeout(self, call: grpc.aio.StreamStreamCall | None) -> None:
        self._timer = None
        if call is self._call and self._awaiting:
            self._fail(call, f"no reply for {self._timeout_s:g} s (stalled)")

    def _fail(self, call: grpc.aio.StreamStreamCall | None, why: str) -> None:
        """Report the target hop as failed, once per stream; keep frames for a replay."""
        if call is not self._call or self._down or self._closed:
            return
        self._cancel_timer()
        if self._call is not None:
            self._call.cancel()
        self._down = True
        self._awaiting.clear()
        target = self.target
        self._on_failure(self.hop_index, f"hop {self.hop_index} at {target.endpoint}: {why}")


def _describe(err: BaseException) -> str:
    if isinstance(err, grpc.aio.AioRpcError):
        return f"{err.code().name}: {err.details()}"
    return f"{type(err).__name__}: {err}"
