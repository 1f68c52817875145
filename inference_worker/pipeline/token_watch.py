"""A route's tokens as its first hop generates them, for the job's submitter (Pipeline.WatchTokens).

Why: a submitter (the OpenAI gateway, docs/gateway.md) wants to show text while the route runs,
not only after the chain finalized the job seconds later. The first hop of a route is the only
worker that holds every token as it comes (the last hop relays each one up to it), so it keeps
them here and streams them to a watcher.

Who may watch: only the job's submitter. A request carries a recoverable secp256k1 signature
by the submitter's account key over::

    sha256(b"infera.watch.v1\\x00" || worker address (20 bytes) || u64 job id || u32 route index
           || u64 nonce)

(big-endian), so a signature names one worker, job and route and cannot be used at another
worker. The workers of the job's other routes must not see these tokens before they commit
(they could copy them instead of computing): the signature keeps them, and everyone else, out.

Replay: the nonce is the requester's fresh random value (not 0). The hub serves each
(route, nonce) once: a served nonce is remembered for as long as the route is kept (also across
a restart of the route) and a request that repeats it is DENIED, so a request captured on the
wire cannot be sent again to watch the route. At most `max_watches_per_route_kept` watches are
ever served per route (then BUSY), which bounds the remembered nonces. A request refused before
it is served (NOT_FOUND: the route has not started) consumes nothing, so the submitter retries
with the same nonce; whoever replays such a request first is served once and the submitter's
own request is then refused (it falls back to the finalized text): that observer already sees
the plaintext connection. What a watcher gets is NOT verified: the chain has not compared the
routes yet.

Bounds: `WatchLimits` (open watch calls in all and per route, finished routes kept for late
watchers). A route not (yet) driven here is refused at once, never waited for, so a stranger
cannot hold watch slots with requests for jobs that do not exist; the submitter retries until
the route starts. Tokens of one route are bounded by the job's max_new_tokens (chain params).

Pure asyncio and crypto, no networking: the server maps `WatchRefused` to a gRPC status.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

from infera.worker.v1 import pipeline_pb2 as pb
from inference_worker.pipeline.frames import FrameSigner, recover_address

WATCH_DOMAIN = b"infera.watch.v1\x00"
SIGNATURE_BYTES = 65  # r || s || recovery id
RouteKey = tuple[int, int]  # (job id, route index)


class WatchRefused(Exception):
    """A watch the hub will not serve; ``reason`` is one of the class constants."""

    MALFORMED = "malformed"  # no session, or a signature of the wrong size
    NO_IDENTITY = "no_identity"  # this worker has no chain key, so nothing is signed to it
    NOT_FOUND = "not_found"  # this worker does not drive (or no longer keeps) that route
    DENIED = "denied"  # the signature is not the job's submitter's
    BUSY = "busy"  # too many open watches

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class WatchLimits:
    """How much watching one worker serves."""

    max_watchers: int = 64  # open WatchTokens calls on this worker, all routes together
    max_watchers_per_route: int = 4  # open calls on one route
    max_routes_kept: int = 256  # routes remembered (finished ones are dropped oldest first)
    max_watches_per_route_kept: int = 16  # watches ever served on one route (nonces remembered)


def watch_digest(worker: bytes, job_id: int, route_index: int, nonce: int) -> bytes:
    """What a watch request's signature signs (module docstring)."""
    if len(worker) != 20:
        raise ValueError(f"a worker address is 20 bytes, got {len(worker)}")
    packed = struct.pack(">QIQ", job_id, route_index, nonce)
    return hashlib.sha256(WATCH_DOMAIN + worker + packed).digest()


def sign_watch(
    private_key: bytes, worker: bytes, job_id: int, route_index: int, nonce: int
) -> bytes:
    """The submitter's signature for watching route `route_index` of `job_id` at `worker` once
    (``nonce``: a fresh random value, not 0)."""
    return FrameSigner(private_key).sign(watch_digest(worker, job_id, route_index, nonce))


@dataclass
class RouteTokens:
    """One route's tokens so far on its first hop."""

    submitter: bytes  # 20 address bytes of the job's submitter
    tokens: list[int] = field(default_factory=list)
    done: bool = False
    stopped_at_eos: bool = False
    error: str = ""  # why the route failed (done with an error)
    watchers: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def changed(self) -> None:
        await self._changed.wait()


class TokenHub:
    """The routes this worker drives, their tokens, and who watches them (one event loop)."""

    def __init__(self, address: bytes | None, limits: WatchLimits | None = None) -> None:
        self.address = address  # this worker's 20 address bytes; None: no chain key, no watches
        self.limits = limits or WatchLimits()
        self.routes: dict[RouteKey, RouteTokens] = {}
        self.served: dict[RouteKey, set[int]] = {}  # nonces served per kept route (replay)
        self.watchers = 0

    # -- the driving side ------------------------------------------------------------------

    def open(self, job_id: int, route_index: int, submitter: bytes) -> None:
        """A route starts (again): its tokens restart from step 0."""
        key = (job_id, route_index)
        old = self.routes.pop(key, None)
        if old is not None and not old.done:
            self._end(old, error="the route was started again")
        self.routes[key] = RouteTokens(submitter=bytes(submitter))
        self._evict()

    def push(self, job_id: int, route_index: int, step: int, token: int) -> None:
        """Token `step` of the route (a step out of order is ignored: steps only grow)."""
        route = self.routes.get((job_id, route_index))
        if route is None or route.done or step != len(route.tokens):
            return
        route.tokens.append(int(token))
        route.notify()

    def finish(
        self, job_id: int, route_index: int, *, stopped_at_eos: bool = False, error: str = ""
    ) -> None:
        route = self.routes.get((job_id, route_index))
        if route is not None and not route.done:
            route.stopped_at_eos = stopped_at_eos
            self._end(route, error=error)

    def _end(self, route: RouteTokens, *, error: str) -> None:
        route.done, route.error = True, error
        route.notify()

    def _evict(self) -> None:
        over = len(self.routes) - self.limits.max_routes_kept
        for key in [k for k, r in self.routes.items() if r.done][: max(over, 0)]:
            del self.routes[key]
            self.served.pop(key, None)

    # -- the watching side -----------------------------------------------------------------

    def authorize(self, request: pb.WatchTokensRequest) -> tuple[RouteKey, RouteTokens]:
        """The route a request may watch; raises WatchRefused."""
        if not request.HasField("session") or len(request.signature) != SIGNATURE_BYTES:
            raise WatchRefused(WatchRefused.MALFORMED, "a session and a 65-byte signature")
        if request.nonce == 0:
            raise WatchRefused(WatchRefused.MALFORMED, "a nonzero nonce")
        if self.address is None:
            raise WatchRefused(WatchRefused.NO_IDENTITY, "this worker has no chain key")
        key = (int(request.session.job_id), int(request.session.route_index))
        route = self.routes.get(key)
        if route is None:
            raise WatchRefused(WatchRefused.NOT_FOUND, f"route {key} is not driven here (yet)")
        try:
            digest = watch_digest(self.address, *key, int(request.nonce))
            signer = recover_address(digest, request.signature)
        except ValueError as err:
            raise WatchRefused(WatchRefused.DENIED, str(err)) from None
        if signer != route.submitter:
            raise WatchRefused(WatchRefused.DENIED, "the signature is not the job's submitter's")
        served = self.served.setdefault(key, set())
        if int(request.nonce) in served:
            raise WatchRefused(WatchRefused.DENIED, "this watch request was already served")
        if self.watchers >= self.limits.max_watchers:
            raise WatchRefused(WatchRefused.BUSY, "too many open watches on this worker")
        if route.watchers >= self.limits.max_watchers_per_route:
            raise WatchRefused(WatchRefused.BUSY, "too many open watches on this route")
        if len(served) >= self.limits.max_watches_per_route_kept:
            raise WatchRefused(WatchRefused.BUSY, "this route was watched too often")
        return key, route

    async def watch(self, request: pb.WatchTokensRequest) -> AsyncIterator[pb.GenerateEvent]:
        """Every token of the route from step 0, as they come, then done or error."""
        key, route = self.authorize(request)
        self.served[key].add(int(request.nonce))  # once authorized: never served again
        self.watchers += 1
        route.watchers += 1
        try:
            sent = 0
            while True:
                while sent < len(route.tokens):
                    yield pb.GenerateEvent(token=self._token(key, sent, route.tokens[sent]))
                    sent += 1
                if route.done:
                    yield self._last(key, route)
                    return
                await route.changed()
        finally:
            self.watchers -= 1
            route.watchers -= 1

    @staticmethod
    def _token(key: RouteKey, step: int, token: int) -> pb.Token:
        session = pb.SessionKey(job_id=key[0], route_index=key[1])
        return pb.Token(session=session, step=step, token_id=token)

    @staticmethod
    def _last(key: RouteKey, route: RouteTokens) -> pb.GenerateEvent:
        if route.error:
            session = pb.SessionKey(job_id=key[0], route_index=key[1])
            error = pb.SessionError(
                session=session, code=pb.ERROR_CODE_HOP_FAILED, message=route.error
            )
            return pb.GenerateEvent(error=error)
        return pb.GenerateEvent(done=pb.GenerateStats(stopped_at_eos=route.stopped_at_eos))
