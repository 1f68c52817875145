"""The worker's Pipeline gRPC service: hosts shards and runs the hops of sessions (networking).

Each incoming `Pipeline.Stream` call carries frames of one or more sessions from the previous
hop. A session (key: job id, route index) holds this hop's KV cache and, unless this hop is the
last, a `DownstreamLink` to the next hop: hidden states are decoded, run through the span on
the compute thread, and sent on (or turned into a token on the last hop, with the session's own
seeded generator); replies from downstream are relayed up the stream that opened the session.

Robustness: every frame is checked (session known and owned by this stream, size, shape,
position, step, codec payload); a bad frame gets a SessionError for its session, that session
is dropped, and every other session goes on.

Frame evidence (frames.py): a hop with a `frame_signer` (its chain key) puts, on every frame it
sends, the fingerprint rows of what the receiver will decode and its signature over the
session's running frame hash. A receiver checks every signed frame (rows within one
quantization step of its own recomputation, signature chain, signer = the route's sending
worker when the route names an address) and refuses a wrong one with BAD_FRAME_EVIDENCE naming
the SENDING hop, so the route replaces or fails it and no honest hop computes on a lying frame;
with `require_signed_frames` it also refuses unsigned frames. Every hop keeps the states of a
session until its end (`ServerLimits.max_session_positions`). When the route's output is known
(the last token relayed up), each signing sender sends one `LateEvidence` before its normal
CloseSession: the rows of everything it sent with the LATE probe seed (from the job's seed and
the output hash the chain compares: for a sealed job the sealed hash, from `output_hash_of`,
never the plain hash of the tokens), signed over its last chain hash and that output hash. The receiver checks it
on the states it kept, keeping it only when it matches, and reports the session finished
after sending its own downstream: without the sender's evidence when it was withheld or wrong
(the verifier then names nobody for a deviation at that boundary; the hop is not left out). What a hop
reveals (`SessionRecord.fingerprint`) is a bundle (`reveal.encode_reveal`): its own late
fingerprint plus the sender-signed late rows it received; the frames it received stay in its
`FrameReceiver.frames` (payloads and rows, bound by the sender's chain: what a verifier judges
it on). A session that ends normally with valid late evidence leaves them, encoded, in
`received_frames` (frame_store.py: bounded, oldest out first; public jobs only, a sealed job's
states would leak its prompt), and `ReceivedFrames` serves them to validators' verifiers.
Limits: `ServerLimits`. Sessions idle longer
than the idle timeout are dropped with EXPIRED. A stream that ends drops the sessions it owns,
which closes their links, so a dead upstream hop frees the whole rest of the route.

`Generate` runs a whole route with this worker as the first hop (`route.drive_route`).
`WatchTokens` streams the tokens of a route this worker drives to the job's submitter
(`token_watch.TokenHub`, `self.tokens`: the driver records them there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import grpc
import torch

from infera.worker.v1 import pipeline_pb2 as pb
from infera.worker.v1 import pipeline_pb2_grpc as pb_grpc
from inference_worker.metrics import WorkerMetrics
from inference_worker.pipeline.codec import CodecError
from inference_worker.pipeline.frame_store import FrameStoreLimits, ReceivedFramesStore
from inference_worker.pipeline.frames import (
    ChainContext,
    FrameEvidenceError,
    FrameReceiver,
    FrameSeal,
    FrameSender,
    FrameSigner,
    encode_received_frames,
    expected_address,
)
from inference_worker.pipeline.generate_service import serve_generate
from inference_worker.pipeline.link import GRPC_SLACK_BYTES, ChannelPool, DownstreamLink
from inference_worker.pipeline.placement import PlacementError
from inference_worker.pipeline.route import (
    DecodingSpec,
)
from inference_worker.pipeline.sessions import (
    FrameError,
    HostedSpan,
    ServerLimits,
    Session,
    SessionId,
    SessionRecord,
    Upstream,
    check_open,
    pb_session_key,
    run_hop,
    session_key,
    session_output,
)
from inference_worker.pipeline.shard import ShardError
from inference_worker.pipeline.token_watch import TokenHub, WatchRefused
from inference_worker.verify.commits import compute_output_hash
from inference_worker.verify.fingerprint import (
    KeptStates,
    derive_late_probe_seed,
    derive_probe_seed,
)
from inference_worker.verify.reveal import encode_reveal

log = logging.getLogger("infera.worker.server")


# (job id, the route's output tokens) -> the output hash the chain compares for them, which the
# late probe seed and the late signatures derive from (commits.compute_chain_output_hash: a
# sealed job's sealed hash, under its output key), or None when this worker cannot know it (a
# sealed job whose output key it does not hold: the session then reveals nothing). Unset: the
# public hash of the tokens.
OutputHasher = Callable[[int, tuple[int, ...]], Awaitable[bytes | None]]

FRAMES_CHUNK_BYTES = 1024 * 1024  # one ReceivedFramesChunk's data at most
MAX_FRAME_FETCHES = 4  # ReceivedFrames calls served at once (more: RESOURCE_EXHAUSTED)
MAX_FRAMES_REQUEST_BYTES = 64  # a ReceivedFramesRequest is a few varints; more is refused

WATCH_STATUS = {
    WatchRefused.MALFORMED: grpc.StatusCode.INVALID_ARGUMENT,
    WatchRefused.NO_IDENTITY: grpc.StatusCode.FAILED_PRECONDITION,
    WatchRefused.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    WatchRefused.DENIED: grpc.StatusCode.PERMISSION_DENIED,
    WatchRefused.BUSY: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


class PipelineServer(pb_grpc.PipelineServicer):
    """The Pipeline service of one worker process."""

    def __init__(
        self,
        spans: Sequence[HostedSpan],
        limits: ServerLimits | None = None,
        *,
        on_session_done: Callable[[SessionRecord], None] | None = None,
        frame_signer: FrameSigner | None = None,
        require_signed_frames: bool = False,
        metrics: WorkerMetrics | None = None,
        output_hash_of: OutputHasher | None = None,
        frame_store: FrameStoreLimits | None = None,
    ):
        self.limits = limits or ServerLimits()
        self.received_frames = ReceivedFramesStore(frame_store)  # for ReceivedFrames
        self._frame_fetches = 0  # ReceivedFrames calls being served
        self.output_hash_of = output_hash_of  # the late basis of a job's output (OutputHasher)
        self._late_hashes: dict[SessionId, bytes | None] = {}  # per session, asked once
        self.on_session_done = on_session_done  # called on the event loop
        self.frame_signer = frame_signer  # this worker's chain key; None: frames go unsigned
        self.require_signed_frames = require_signed_frames  # refuse unsigned incoming frames
        self.spans = {(s.model_id, s.shard.span_start, s.shard.span_end): s for s in spans}
        self.sessions: dict[SessionId, Session] = {}
        self.metrics = metrics or WorkerMetrics()  # Prometheus (inference_worker/metrics.py)
        self.metrics.watch_sessions(lambda: len(self.sessions))
        self.channels = ChannelPool(self.limits.max_frame_bytes)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="shard")  # one compute at a time
        self._background: set[asyncio.Task[None]] = set()
        self._janitor: asyncio.Task[None] | None = None
        self.tokens = TokenHub(frame_signer.address if frame_signer else None)  # WatchTokens

    # --- Stream ------------------------------------------------------------------------------

    async def Stream(
        self, request_iterator: AsyncIterator[pb.HopFrame], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ReplyFrame]:
        self._start_janitor()
        upstream = Upstream()
        reader = asyncio.get_running_loop().create_task(self._read(request_iterator, upstream))
        try:
            while (reply := await upstream.replies.get()) is not None:
                yield reply
        finally:
            reader.cancel()
            self._drop_owned(upstream, "the upstream stream ended")

    async def _read(self, frames: AsyncIterator[pb.HopFrame], upstream: Upstream) -> None:
        try:
            async for frame in frames:
                await self._on_frame(frame, upstream)
        except grpc.aio.AioRpcError:
            pass  # the upstream hop went away: its sessions are dropped below
        finally:
            self._drop_owned(upstream, "the upstream stream ended")
            upstream.replies.put_nowait(None)

    async def _on_frame(self, frame: pb.HopFrame, upstream: Upstream) -> None:
        kind = frame.WhichOneof("kind")
        body = getattr(frame, kind) if kind else None
        key = session_key(body.session) if body is not None else (0, 0)
        try:
            if kind == "open":
                await self._open(frame.open, upstream)
            elif kind == "hidden":
                await self._hidden(frame.hidden, self._owned(key, upstream))
            elif kind == "reroute":
                await self._reroute(frame.reroute, self._owned(key, upstream))
            elif kind == "late":
                await self._late(frame.late, self._owned(key, upstream))
            elif kind == "close":
                await self._close(self._owned(key, upstream), frame.close.reason)
            else:
                raise FrameError(pb.ERROR_CODE_MALFORMED, "empty frame")
        except FrameError as err:
            self._refuse(upstream, key, err.code, str(err))
        except FrameEvidenceError as err:  # the sender lied or signed wrongly: name the sender
            log.warning("session %s: refused a frame: %s", key, err)
            code = pb.ERROR_CODE_BAD_FRAME_EVIDENCE
            self._refuse(upstream, key, code, str(err), failed_hop=err.sender_hop)
        except (ShardError, CodecError, PlacementError) as err:
            self._refuse(upstream, key, pb.ERROR_CODE_MALFORMED, str(err))
        except Exception as err:  # a bug must not take the other sessions down
            self._refuse(upstream, key, pb.ERROR_CODE_INTERNAL, f"{type(err).__name__}: {err}")

    def _refuse(
        self,
        upstream: Upstream,
        key: SessionId,
        code: int,
        message: str,
        *,
        failed_hop: int | None = None,
    ) -> None:
        """Answer a refused frame; the session (when this stream owns it) is dropped. The
        error names this hop, or `failed_hop` (the sender of a frame with wrong evidence)."""
        session = self.sessions.get(key)
        index = 0
        if session is not None and session.owner is upstream:
            index = session.index
            self._drop(session, message)
        if failed_hop is not None:
            index = failed_hop
        self.metrics.frame_refused(code)
        error = pb.SessionError(
            session=pb_session_key(key), code=code, failed_hop=index, message=message
        )
        upstream.send(pb.ReplyFrame(error=error))

    def _owned(self, key: SessionId, upstream: Upstream) -> Session:
        session = self.sessions.get(key)
        if session is None or session.owner is not upstream:
            raise FrameError(pb.ERROR_CODE_UNKNOWN_SESSION, f"no session {key} on this stream")
        session.last_active = time.monotonic()
        return session

    async def _open(self, msg: pb.OpenSession, upstream: Upstream) -> None:
        span = check_open(self.spans, msg)
        key = session_key(msg.session)
        old = self.sessions.get(key)
        if old is None and len(self.sessions) >= self.limits.max_sessions:
            raise FrameError(pb.ERROR_CODE_BUSY, f"this hop holds {len(self.sessions)} sessions")
        if old is not None:  # a replacement upstream hop rebuilds the session by replay
            tell = pb.ERROR_CODE_SUPERSEDED if old.owner is not upstream else None
            self._drop(old, "superseded by a new open", code=tell)
        decoding = DecodingSpec.from_pb(msg.decoding).sampling()
        generator = torch.Generator().manual_seed(decoding.seed) if decoding else None
        probe_seed = derive_probe_seed(key[0])
        outputs = KeptStates()
        receiver = FrameReceiver(
            ChainContext(key[0], key[1], sender_hop=msg.hop_index - 1),
            probe_seed=probe_seed,
            expected=expected_address(msg.hops[msg.hop_index - 1].worker),
            require_signatures=self.require_signed_frames,
        )
        cache = span.shard.new_cache()
        session = Session(key, span, msg, upstream, cache, (decoding, generator), outputs, receiver)
        if not session.is_last or session.is_split:  # a split last hop signs what it returns
            session.sender = FrameSender(
                ChainContext(key[0], key[1], sender_hop=session.index),
                probe_seed=probe_seed,
                signer=self.frame_signer,
            )
        self.sessions[key] = session
        upstream.sessions.add(key)
        log.info(
            "session opened: job %d route %d hop %d of %d (%s)",
            key[0], key[1], session.index, len(msg.hops), "replacing" if old else "new",
        )  # fmt: skip
        if not session.is_last:
            session.link = self._new_link(session)
            await session.link.connect()

    def _new_link(self, session: Session) -> DownstreamLink:
        frame = pb.OpenSession()
        frame.CopyFrom(session.open)
        frame.hop_index = session.index + 1

        def on_reply(reply: pb.ReplyFrame) -> None:
            if self.sessions.get(session.key) is session:
                session.last_active = time.monotonic()
                if reply.HasField("token"):
                    session.tokens[reply.token.step] = reply.token.token_id
                session.owner.send(reply)

        def on_failure(hop: int, why: str) -> None:
            if self.sessions.get(session.key) is session:
                self.metrics.error("downstream_failed")
                error = pb.SessionError(
                    session=pb_session_key(session.key),
                    code=pb.ERROR_CODE_HOP_FAILED,
                    failed_hop=hop,
                    message=why,
                )
                session.owner.send(pb.ReplyFrame(error=error))

        timeout_s = session.open.progress_timeout_ms[session.index] / 1000
        return DownstreamLink(
            self.channels,
            frame,
            progress_timeout_s=timeout_s,
            on_reply=on_reply,
            on_failure=on_failure,
        )

    async def _hidden(self, msg: pb.HiddenStates, session: Session) -> None:
        shape = tuple(msg.shape)
        hidden_size = session.span.shard.hidden_size
        if len(msg.data) > self.limits.max_frame_bytes:
            raise FrameError(
                pb.ERROR_CODE_TOO_LARGE,
                f"frame of {len(msg.data)} bytes exceeds {self.limits.max_frame_bytes}",
            )
        if len(shape) != 3 or shape[0] != 1 or shape[1] < 1 or shape[2] != hidden_size:
            raise FrameError(
                pb.ERROR_CODE_MALFORMED, f"shape must be (1, length, {hidden_size}), got {shape}"
            )
        if session.seen + shape[1] > self.limits.max_session_positions:
            raise FrameError(
                pb.ERROR_CODE_TOO_LARGE,
                f"a session runs at most {self.limits.max_session_positions} positions",
            )
        if msg.position != session.seen or msg.step != session.next_step:
            raise FrameError(
                pb.ERROR_CODE_MALFORMED,
                f"expected step {session.next_step} at position {session.seen}, got step "
                f"{msg.step} at position {msg.position}",
            )
        loop = asyncio.get_running_loop()
        seal = FrameSeal(rows=msg.fingerprint_rows, signature=msg.signature)
        started = time.monotonic()
        out = await loop.run_in_executor(
            self.executor,
            run_hop,
            session,
            msg.data,
            seal,
            shape,
            session.open.codec,
            self.limits.max_frame_bytes,
        )
        self.metrics.hop_forwarded(msg.step, time.monotonic() - started, token=isinstance(out, int))
        if self.sessions.get(session.key) is not session:
            return  # closed or replaced while computing
        session.seen += shape[1]
        session.next_step += 1
        if isinstance(out, int):
            session.tokens[msg.step] = out
            token = pb.Token(session=msg.session, step=msg.step, token_id=out)
            session.owner.send(pb.ReplyFrame(token=token))
            return
        out_shape, data, out_seal = out
        states = pb.HiddenStates(
            session=msg.session,
            step=msg.step,
            position=msg.position,
            shape=out_shape,
            data=data,
            fingerprint_rows=out_seal.rows,
            signature=out_seal.signature,
        )
        if session.is_last:  # a split session: the states go back to the client
            session.owner.send(pb.ReplyFrame(hidden=states))
            return
        assert session.link is not None
        await session.link.send(states)

    async def _reroute(self, msg: pb.Reroute, session: Session) -> None:
        if session.link is None or msg.hop_index < session.index:
            raise FrameError(pb.ERROR_CODE_MALFORMED, f"hop {session.index} cannot reroute that")
        target = msg.hop_index + 1
        if target >= len(session.open.hops):
            raise FrameError(pb.ERROR_CODE_MALFORMED, f"the route has no hop {target}")
        old = session.open.hops[target]
        new = msg.replacement
        if (new.layer_start, new.layer_end) != (old.layer_start, old.layer_end):
            raise FrameError(pb.ERROR_CODE_MALFORMED, "a replacement must serve the same span")
        session.open.hops[target].CopyFrom(new)
        if msg.hop_index == session.index:
            await session.link.reroute(new)
        else:
            await session.link.forward(pb.HopFrame(reroute=msg))

    # --- session ends ------------------------------------------------------------------------

    async def _late(self, msg: pb.LateEvidence, session: Session) -> None:
        """The sender's late evidence: checked on the states this hop kept, with the output it
        saw (FrameEvidenceError names the sender)."""
        tokens = session_output(session)
        if tokens is None:
            raise FrameError(pb.ERROR_CODE_MALFORMED, "late evidence before the output is known")
        seal = FrameSeal(rows=msg.fingerprint_rows, signature=msg.signature)
        output_hash = await self._late_hash(session, tokens)
        if output_hash is None:
            log.warning("session %s: no output hash to check the late evidence on", session.key)
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                self.executor, session.receiver.accept_late, seal, output_hash
            )  # fmt: skip
        except FrameEvidenceError as err:
            # The sender hears it (BAD_FRAME_EVIDENCE naming it), but the session stays: the
            # output is delivered already, and dropping it would only keep this hop and the
            # ones after it from committing (slashed as absent). The evidence is not kept; the
            # reveal goes without it (the verifier names nobody for a deviation at an
            # unevidenced boundary).
            log.warning(
                "session %s: refused the late evidence of hop %d, revealing without it: %s",
                session.key, err.sender_hop, err,
            )  # fmt: skip
            error = pb.SessionError(
                session=pb_session_key(session.key),
                code=pb.ERROR_CODE_BAD_FRAME_EVIDENCE,
                failed_hop=err.sender_hop,
                message=str(err),
            )
            session.owner.send(pb.ReplyFrame(error=error))

    async def _close(self, session: Session, reason: str) -> None:
        """A CloseSession: an empty reason is a normal end, reported to `on_session_done` once
        this hop sent its own late evidence downstream. The late evidence owed from upstream
        goes in the reveal when it arrived and checked; an upstream hop that withheld it (or
        sent it wrong) does not stop this hop from committing, only from carrying it."""
        tokens = session_output(session) if not reason else None
        missing = session.receiver.signed and session.receiver.late is None
        own: bytes | None = None
        output_hash = await self._late_hash(session, tokens) if tokens is not None else None
        if output_hash is not None:
            own = await self._finish_late(session, output_hash)
        self._drop(session, reason, normal=not reason)
        if own is None:
            note = f" ({reason or 'incomplete'})"
        elif missing:  # withheld or refused upstream: this hop still reveals, without it
            note = " (no valid late evidence from upstream: revealing without it)"
        else:
            note = ""
        log.info(
            "session closed: job %d route %d hop %d, %d steps%s",
            *session.key, session.index, session.next_step, note,
        )  # fmt: skip
        if tokens is not None and own is not None and output_hash is not None:
            self._keep_received_frames(session, tokens, output_hash)
        if tokens is not None and own is not None and self.on_session_done is not None:
            record = SessionRecord(
                job_id=session.key[0],
                route_index=session.key[1],
                hop_index=session.index,
                model_id=session.open.model_id,
                hops=tuple(session.open.hops),
                tokens=tokens,
                fingerprint=encode_reveal(own, session.receiver.late),
            )
            self.on_session_done(record)

    def _keep_received_frames(
        self, session: Session, tokens: tuple[int, ...], output_hash: bytes
    ) -> None:
        """Keep the frames a finished session received, for `ReceivedFrames`: only with valid
        late evidence (without it a verifier cannot use them) and for a public job (the late
        hash is the plain hash of the tokens; a sealed job's frames would leak its prompt)."""
        late = session.receiver.late
        if late is None or not session.receiver.frames:
            return
        if output_hash != compute_output_hash(tokens):
            return
        data = encode_received_frames(session.receiver.frames, hidden_size=late.hidden_size)
        key = (session.key[0], session.key[1], session.index)
        if not self.received_frames.put(key, data, now=time.monotonic()):
            log.warning("session %s: %d bytes of received frames not kept", session.key, len(data))

    async def _late_hash(self, session: Session, tokens: tuple[int, ...]) -> bytes | None:
        """The output hash the session's late probes and signatures derive from (OutputHasher),
        asked once per session; None when this worker cannot know it."""
        if session.key not in self._late_hashes:
            if self.output_hash_of is None:
                self._late_hashes[session.key] = compute_output_hash(tokens)
            else:
                try:
                    found = await self.output_hash_of(session.key[0], tokens)
                except Exception:  # a chain query that failed: reveal nothing rather than leak
                    log.exception("session %s: the output hash is not known", session.key)
                    found = None
                self._late_hashes[session.key] = found
        return self._late_hashes[session.key]

    async def _finish_late(self, session: Session, output_hash: bytes) -> bytes:
        """Send this hop's late evidence downstream (before the link's normal close) and
        return its own late fingerprint."""
        loop = asyncio.get_running_loop()
        if session.sender is not None and session.link is not None:
            seal = await loop.run_in_executor(self.executor, session.sender.seal_late, output_hash)
            if seal.signature:
                late = pb.LateEvidence(
                    session=pb_session_key(session.key),
                    fingerprint_rows=seal.rows,
                    signature=seal.signature,
                )
                await session.link.forward(pb.HopFrame(late=late))
        seed = derive_late_probe_seed(session.receiver.probe_seed, output_hash)
        own = await loop.run_in_executor(self.executor, session.outputs.fingerprint, seed)
        return own.to_bytes()

    def _drop(
        self, session: Session, why: str, *, code: int | None = None, normal: bool = False
    ) -> None:
        """Forget a session and close its link in the background (a normal close, or an abort
        saying `why`, for the next hops); with `code`, tell its owner why."""
        if self.sessions.get(session.key) is session:
            del self.sessions[session.key]
            self._late_hashes.pop(session.key, None)
            self.metrics.session_ended(code=code, normal=normal)
        session.owner.sessions.discard(session.key)
        if code is not None:
            error = pb.SessionError(
                session=pb_session_key(session.key),
                code=code,
                failed_hop=session.index,
                message=why,
            )
            session.owner.send(pb.ReplyFrame(error=error))
        if session.link is not None:
            self._spawn(session.link.close("" if normal else why or "aborted"))

    def _drop_owned(self, upstream: Upstream, why: str) -> None:
        for key in sorted(upstream.sessions):
            session = self.sessions.get(key)
            if session is not None and session.owner is upstream:
                self._drop(session, why)
        upstream.sessions.clear()

    def _start_janitor(self) -> None:
        if self._janitor is None:
            self._janitor = asyncio.get_running_loop().create_task(self._expire_idle())

    async def _expire_idle(self) -> None:
        period = min(1.0, self.limits.session_idle_timeout_s / 4)
        while True:
            await asyncio.sleep(period)
            deadline = time.monotonic() - self.limits.session_idle_timeout_s
            for session in [s for s in self.sessions.values() if s.last_active < deadline]:
                self._drop(session, "idle timeout", code=pb.ERROR_CODE_EXPIRED)

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- Generate ----------------------------------------------------------------------------

    async def Generate(
        self, request: pb.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GenerateEvent]:
        self._start_janitor()
        async for event in serve_generate(self, request):
            yield event

    async def WatchTokens(
        self, request: pb.WatchTokensRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GenerateEvent]:
        try:
            async for event in self.tokens.watch(request):
                yield event
        except WatchRefused as err:
            await context.abort(WATCH_STATUS[err.reason], str(err))

    # --- ReceivedFrames -----------------------------------------------------------------------

    async def ReceivedFrames(
        self, request: pb.ReceivedFramesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ReceivedFramesChunk]:
        """The frames this worker kept as hop `hop_index` of a finished session, in chunks."""
        if request.ByteSize() > MAX_FRAMES_REQUEST_BYTES:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "request too large")
        if request.session.job_id == 0 or request.hop_index == 0:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "name a job and a receiving hop (index >= 1)"
            )
        key = (request.session.job_id, request.session.route_index, request.hop_index)
        data = self.received_frames.get(key, now=time.monotonic())
        if data is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no received frames kept for that hop")
            return
        if self._frame_fetches >= MAX_FRAME_FETCHES:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many fetches at once")
        self._frame_fetches += 1
        try:
            for offset in range(0, len(data), FRAMES_CHUNK_BYTES):
                chunk = data[offset : offset + FRAMES_CHUNK_BYTES]
                yield pb.ReceivedFramesChunk(total_bytes=len(data), data=chunk)
        finally:
            self._frame_fetches -= 1

    async def shutdown(self) -> None:
        """Drop every session and close the outgoing channels."""
        for session in list(self.sessions.values()):
            self._drop(session, "worker shutting down")
        if self._janitor is not None:
            self._janitor.cancel()
        for task in list(self._background):
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 2)
        await self.channels.close()
        self.executor.shutdown(wait=False)


async def start_server(
    spans: Sequence[HostedSpan],
    listen: str,
    limits: ServerLimits | None = None,
    *,
    on_session_done: Callable[[SessionRecord], None] | None = None,
    frame_signer: FrameSigner | None = None,
    require_signed_frames: bool = False,
    metrics: WorkerMetrics | None = None,
    output_hash_of: OutputHasher | None = None,
    frame_store: FrameStoreLimits | None = None,
) -> tuple[grpc.aio.Server, PipelineServer, int]:
    """Serve `spans` on `listen` (host:port, port 0 picks a free one): (server, service, port).
    `frame_signer` signs this worker's frames; `require_signed_frames` refuses unsigned ones;
    `metrics` (default: a fresh one) counts what it serves; `output_hash_of` gives the output
    hash a job's late evidence derives from (OutputHasher; a worker on chain: sealed jobs');
    `frame_store` bounds the received frames kept for validators (frame_store.py)."""
    service = PipelineServer(
        spans,
        limits,
        on_session_done=on_session_done,
        frame_signer=frame_signer,
        require_signed_frames=require_signed_frames,
        metrics=metrics,
        output_hash_of=output_hash_of,
        frame_store=frame_store,
    )
    message_bytes = service.limits.max_frame_bytes + GRPC_SLACK_BYTES
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", message_bytes),
            ("grpc.max_send_message_length", message_bytes),
            ("grpc.so_reuseport", 0),
        ]
    )
    pb_grpc.add_PipelineServicer_to_server(service, server)
    port = server.add_insecure_port(listen)
    if port == 0:
        raise OSError(f"cannot listen on {listen}")
    await server.start()
    return server, service, port
