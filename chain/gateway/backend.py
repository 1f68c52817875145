"""What the gateway needs from the chain, and the real implementation over ``chain.client``.

Besides the chain's gRPC port, a streamed answer reads one route's tokens from that route's
first hop (``Pipeline.WatchTokens``, inference_worker/pipeline/token_watch.py), signed with the
gateway's account key, the job's submitter: the worker serves no one else.

The app talks to a ``Backend`` only, so its request handling is tested without a network
(tests/gateway/test_app.py) and against a real chain (tests/gateway/test_openai_client.py).
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import coincurve
import grpc
from cosmpy.aerial.wallet import LocalWallet

from chain.client import Client, QueryError, TxError
from chain.crypto import from_bech32
from chain.gateway.errors import GatewayError, no_funds
from infera.inference.v1 import types_pb2 as inference_types

SDK_INSUFFICIENT_FUNDS = 5  # codespace "sdk"
SDK_INSUFFICIENT_FEE = 13
NO_COVERAGE = "(codespace sharding, code 5)"  # ErrInsufficientCoverage, as gRPC reports it
PAYMENT_FAILURES = {("sdk", SDK_INSUFFICIENT_FUNDS), ("sdk", SDK_INSUFFICIENT_FEE)}
WATCH_DOMAIN = b"infera.watch.v1\x00"  # as inference_worker/pipeline/token_watch.py
MAX_WORKER_CHANNELS = 64  # gRPC channels to route first hops kept open (oldest closed first)
MAX_PENDING_NONCES = 4096  # watch nonces kept for retries until served (oldest dropped first)


@dataclass(frozen=True)
class ModelInfo:
    """A registered, not retired model."""

    id: str
    owner: str
    price_per_token: str  # decimal string, uinfera per token
    min_redundancy: int
    registered_height: int


@dataclass(frozen=True)
class RouteHead:
    """The first hop of one of a job's routes: the worker that drives it and holds its tokens."""

    worker: str  # operator address (bech32)
    endpoint: str  # its Pipeline gRPC host:port


@dataclass(frozen=True)
class JobOutcome:
    """A job as the chain last reported it."""

    job_id: int
    state: int  # inference JobState
    reason: str  # why it expired or was cancelled
    output_hash: bytes  # FINALIZED only
    final_height: int
    tokens: tuple[int, ...]  # the winning output's tokens (FINALIZED only)
    routes: tuple[RouteHead, ...] = ()  # each route's first hop, once the job is assigned


class WatchError(Exception):
    """A route's token stream failed; ``retry``: the worker does not drive the route yet."""

    def __init__(self, message: str, *, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry


class Backend(Protocol):
    """The chain, as the gateway uses it (every call blocks; the app runs them in threads)."""

    address: str  # the gateway account (bech32)

    def inference_params(self) -> Any: ...

    def models(self) -> list[ModelInfo]: ...

    def model(self, model_id: str) -> ModelInfo | None: ...

    def balance(self) -> int: ...

    def has_routes(self, model: ModelInfo) -> bool: ...  # min_redundancy disjoint routes now

    def submit(
        self, *, model: ModelInfo, prompt: bytes, max_new_tokens: int, max_fee: int,
        decoding: inference_types.Decoding,
    ) -> tuple[int, str]: ...  # fmt: skip  # (job id, tx hash)

    def outcome(self, job_id: int) -> JobOutcome: ...

    def watch_tokens(self, job_id: int, route_index: int, head: RouteHead) -> AsyncIterator[int]:
        """The route's tokens as its first hop generates them (not verified); raises
        WatchError. An async generator: the caller closes it to stop watching."""
        ...


def model_info(model: Any) -> ModelInfo:
    return ModelInfo(
        id=model.id,
        owner=model.owner,
        price_per_token=model.price_per_token,
        min_redundancy=int(model.min_redundancy),
        registered_height=int(model.registered_height),
    )


class ChainBackend:
    """``Backend`` over one node's gRPC port, signing with the gateway's key."""

    def __init__(self, client: Client, wallet: LocalWallet) -> None:
        self.client, self.wallet = client, wallet
        self.address = str(wallet.address())
        self._key = bytes(wallet.signer().private_key_bytes)  # signs WatchTokens requests
        self._channels: dict[str, grpc.aio.Channel] = {}  # endpoint -> channel (one event loop)
        self._nonces: dict[tuple[int, int, bytes], int] = {}  # unserved watches (retries)

    def inference_params(self) -> Any:
        return self.client.params("inference")

    def models(self) -> list[ModelInfo]:
        return [model_info(m) for m in self.client.models() if not m.retired]

    def model(self, model_id: str) -> ModelInfo | None:
        found = self.client.model(model_id)
        return None if found is None or found.retired else model_info(found)

    def balance(self) -> int:
        return self.client.balance(self.address)

    def has_routes(self, model: ModelInfo) -> bool:
        try:
            self.client.routes(model.id, redundancy=model.min_redundancy)
        except QueryError as err:
            if NO_COVERAGE in err.details:
                return False
            raise
        return True

    def submit(
        self, *, model: ModelInfo, prompt: bytes, max_new_tokens: int, max_fee: int,
        decoding: inference_types.Decoding,
    ) -> tuple[int, str]:  # fmt: skip
        try:
            result = self.client.submit_job(
                self.wallet, model_id=model.id, prompt=prompt, max_new_tokens=max_new_tokens,
                max_fee=max_fee, redundancy=model.min_redundancy, decoding=decoding,
            )  # fmt: skip
        except TxError as err:
            raise tx_failure(err) from None
        job_id = result.attribute("infera.job_submitted", "job_id")
        if job_id is None:
            raise GatewayError(502, "no_job_id", f"tx {result.txhash} emitted no job id")
        return int(job_id), result.txhash

    def outcome(self, job_id: int) -> JobOutcome:
        job = self.client.job(job_id)
        if job is None:
            raise GatewayError(502, "job_not_found", f"job {job_id} is not on chain")
        tokens: tuple[int, ...] = ()
        if job.state == inference_types.JOB_STATE_FINALIZED:
            history = self.client.job_history(job_id)
            won = [o for o in history.outputs if o.output_hash == job.output_hash]
            tokens = tuple(int(t) for t in won[0].tokens) if won else ()
        routes = tuple(
            RouteHead(r.hops[0].worker, r.hops[0].endpoint) for r in job.routes if r.hops
        )
        return JobOutcome(job_id, job.state, job.reason, bytes(job.output_hash),
                          int(job.final_height), tokens, routes)  # fmt: skip

    async def watch_tokens(
        self, job_id: int, route_index: int, head: RouteHead
    ) -> AsyncIterator[int]:
        from infera.worker.v1 import pipeline_pb2 as pb
        from infera.worker.v1 import pipeline_pb2_grpc as pb_grpc

        try:
            worker = from_bech32(head.worker)
        except Exception:
            raise WatchError(f"route {route_index} names no worker address") from None
        pending = (job_id, route_index, worker)
        nonce = self._watch_nonce(pending)
        request = pb.WatchTokensRequest(
            session=pb.SessionKey(job_id=job_id, route_index=route_index),
            signature=sign_watch(self._key, worker, job_id, route_index, nonce),
            nonce=nonce,
        )
        call = pb_grpc.PipelineStub(await self._channel(head.endpoint)).WatchTokens(request)
        try:
            async for event in call:
                self._nonces.pop(pending, None)  # served: a later watch draws a new one
                if event.HasField("token"):
                    yield int(event.token.token_id)
                elif event.HasField("error"):
                    raise WatchError(f"route {route_index} failed: {event.error.message}")
                else:
                    return
        except grpc.aio.AioRpcError as err:
            retry = err.code() == grpc.StatusCode.NOT_FOUND
            if not retry:
                self._nonces.pop(pending, None)
            raise WatchError(f"{err.code().name}: {err.details()}", retry=retry) from None
        finally:
            call.cancel()  # a watch left early (client gone) ends on the worker too

    def _watch_nonce(self, pending: tuple[int, int, bytes]) -> int:
        """The nonce of a watch: fresh, and the same again while the worker answers NOT_FOUND
        (an unserved request consumes nothing, so a copy of it is then refused as a replay
        once the real one was served; token_watch.py)."""
        nonce = self._nonces.pop(pending, 0) or secrets.randbits(64) or 1
        self._nonces[pending] = nonce
        while len(self._nonces) > MAX_PENDING_NONCES:
            del self._nonces[next(iter(self._nonces))]
        return nonce

    async def _channel(self, endpoint: str) -> grpc.aio.Channel:
        """A kept channel to ``endpoint`` (no connection setup per stream)."""
        channel = self._channels.pop(endpoint, None) or grpc.aio.insecure_channel(endpoint)
        self._channels[endpoint] = channel  # most recently used last
        while len(self._channels) > MAX_WORKER_CHANNELS:
            oldest = next(iter(self._channels))
            await self._channels.pop(oldest).close()
        return channel


def watch_digest(worker: bytes, job_id: int, route_index: int, nonce: int) -> bytes:
    """What a WatchTokens request's signature signs (pipeline.proto WatchTokensRequest)."""
    packed = struct.pack(">QIQ", job_id, route_index, nonce)
    return hashlib.sha256(WATCH_DOMAIN + worker + packed).digest()


def sign_watch(
    private_key: bytes, worker: bytes, job_id: int, route_index: int, nonce: int
) -> bytes:
    """The submitter's 65-byte recoverable signature of a WatchTokens request."""
    digest = watch_digest(worker, job_id, route_index, nonce)
    return bytes(coincurve.PrivateKey(private_key).sign_recoverable(digest, hasher=None))


def tx_failure(err: TxError) -> GatewayError:
    """A refused MsgSubmitJob as an HTTP error: 429 insufficient_funds when the account cannot
    pay."""
    result = err.result
    if (result.codespace, result.code) in PAYMENT_FAILURES:
        return no_funds(f"the gateway account cannot pay: {result.log}")
    return GatewayError(
        400, f"{result.codespace}_{result.code}", f"the chain refused the job: {result.log}"
    )


def is_unavailable(err: QueryError) -> bool:
    return err.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
