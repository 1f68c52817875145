"""The gRPC services served through ABCI ``Query`` as well, as the Cosmos SDK's GRPCQueryRouter does.

cosmjs (and anything built on CometBFT RPC alone) reaches the app's gRPC services through
``abci_query``: the path is the full gRPC method name (``/cosmos.tx.v1beta1.Service/Simulate``),
``data`` the request's protobuf bytes, and the answer's ``value`` the response's protobuf bytes.
Router queries (auth, bank, ``infera.*``) are answered by ``chain.queries`` directly; this router
answers the services the gRPC server implements itself: ``cosmos.tx.v1beta1.Service`` (Simulate,
so cosmjs' ``"auto"`` fee works; GetTx, BroadcastTx, GetTxsEvent), ``cosmos.base.tendermint``
(blocks, node info, validators), ``cosmos.consensus.v1.Query`` and ``infera.store.v1.Query``.

Each call runs the very servicer object the gRPC server uses, on the server's event loop, with
a stand-in for the call context; the ABCI query thread waits for it (``CALL_TIMEOUT_SECONDS``).
Errors are mapped as the Cosmos SDK maps a gRPC status (``gRPCErrorToSDKError``): NOT_FOUND is
sdk code 38, INVALID_ARGUMENT and FAILED_PRECONDITION 18, UNAUTHENTICATED 4, anything else 6,
and the log keeps the status message (which names the original codespace and code).
``ABCIQuery`` itself is not routed: it would re-enter ABCI Query and could exhaust the query pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import chain.pb  # noqa: F401

import grpc
import structlog
from google.protobuf import message_factory
from google.protobuf.message import DecodeError, Message

from chain.grpc.errors import GrpcAbort, to_abort
from chain.grpc.queries import HEIGHT_HEADER, MAX_HEIGHT
from tendermint.abci import types_pb2 as abci

log = structlog.get_logger("chain.grpc")

CALL_TIMEOUT_SECONDS = 30.0  # the longest an ABCI query waits for a routed call
NOT_ROUTED = frozenset({"/cosmos.base.tendermint.v1beta1.Service/ABCIQuery"})
# gRPC status -> Cosmos SDK code (baseapp's gRPCErrorToSDKError); the codespace is "sdk".
SDK_CODE_OF_STATUS = {
    grpc.StatusCode.NOT_FOUND: 38,  # ErrKeyNotFound
    grpc.StatusCode.INVALID_ARGUMENT: 18,  # ErrInvalidRequest
    grpc.StatusCode.FAILED_PRECONDITION: 18,
    grpc.StatusCode.UNAUTHENTICATED: 4,  # ErrUnauthorized
}
SDK_CODE_UNKNOWN_REQUEST = 6


class CallContext:
    """The part of ``grpc.aio.ServicerContext`` the servicers use, for a call made by ABCI Query."""

    def __init__(self, height: int) -> None:
        self._metadata = ((HEIGHT_HEADER, str(height)),) if height > 0 else ()
        self.height = 0  # the height the servicer says it read (its initial metadata)

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    async def send_initial_metadata(self, metadata: Any) -> None:
        for key, value in metadata:
            if key == HEIGHT_HEADER:
                self.height = int(value)

    async def abort(self, code: grpc.StatusCode, details: str = "") -> None:
        raise GrpcAbort(code, details)


@dataclass(frozen=True)
class Method:
    request_class: type[Message]
    handler: Callable[[Message, CallContext], Coroutine[Any, Any, Message]]


class GrpcQueryRouter:
    """Full gRPC method path -> the servicer method that answers it, callable from ABCI Query."""

    def __init__(self, loop: asyncio.AbstractEventLoop, latest_height: Callable[[], int]) -> None:
        self.loop = loop  # the gRPC server's event loop, where the servicers run
        self.latest_height = latest_height
        self._methods: dict[str, Method] = {}

    def add_servicer(self, servicer: Any, service_descriptor: Any) -> None:
        """Route every method of ``service_descriptor`` that ``servicer`` implements."""
        for method in service_descriptor.methods:
            path = f"/{service_descriptor.full_name}/{method.name}"
            if path in NOT_ROUTED or not hasattr(servicer, method.name):
                continue
            request_class = message_factory.GetMessageClass(method.input_type)
            self._methods[path] = Method(request_class, getattr(servicer, method.name))

    def paths(self) -> list[str]:
        return sorted(self._methods)

    def handles(self, path: str) -> bool:
        return path in self._methods

    def query(self, req: abci.RequestQuery) -> abci.ResponseQuery:
        """Answer one routed ABCI query (on the caller's thread, never the gRPC loop)."""
        method = self._methods[req.path]
        if req.height < 0 or req.height > MAX_HEIGHT:
            return _error(grpc.StatusCode.INVALID_ARGUMENT, f"invalid height {req.height}")
        request = method.request_class()
        try:
            request.ParseFromString(req.data)
        except DecodeError as exc:
            name = method.request_class.__name__
            return _error(grpc.StatusCode.INVALID_ARGUMENT, f"cannot decode {name}: {exc}")
        context = CallContext(req.height)
        future = asyncio.run_coroutine_threadsafe(method.handler(request, context), self.loop)
        try:
            response = future.result(timeout=CALL_TIMEOUT_SECONDS)
        except TimeoutError:
            future.cancel()
            return _error(grpc.StatusCode.DEADLINE_EXCEEDED, f"{req.path} timed out")
        except Exception as exc:  # noqa: BLE001 - every failure becomes an error answer
            abort = to_abort(exc)
            return _error(abort.code, abort.message)
        height = context.height or req.height or self.latest_height()
        return abci.ResponseQuery(value=response.SerializeToString(), height=height)


def _error(code: grpc.StatusCode, message: str) -> abci.ResponseQuery:
    sdk_code = SDK_CODE_OF_STATUS.get(code, SDK_CODE_UNKNOWN_REQUEST)
    return abci.ResponseQuery(code=sdk_code, codespace="sdk", log=message)
