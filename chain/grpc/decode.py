"""Undecodable request bytes answer INVALID_ARGUMENT on every servicer-registered method.

grpc decodes a request with the handler's ``request_deserializer`` before the servicer runs; a
``DecodeError`` there becomes UNKNOWN (issue 12: an outsider's bytes must get a typed error).
``DecodeChecked`` stands in for the server while the generated ``add_*Servicer_to_server``
functions register their handlers: each unary-unary handler then receives raw bytes, decodes
them itself and aborts with INVALID_ARGUMENT when they do not parse.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import grpc
import structlog

log = structlog.get_logger(__name__)


def _checked(handler: grpc.RpcMethodHandler | None) -> grpc.RpcMethodHandler | None:
    if handler is None or handler.request_streaming or handler.response_streaming:
        return handler
    decode: Callable[[bytes], Any] | None = handler.request_deserializer
    if decode is None:
        return handler
    behavior = handler.unary_unary

    async def unary_unary(raw: bytes, context: Any) -> Any:
        try:
            request = decode(raw)
        except Exception as exc:  # noqa: BLE001 - any parse failure of outsider bytes
            log.info("undecodable gRPC request", error=type(exc).__name__, size=len(raw))
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "request does not decode")
        result = behavior(request, context)
        return await result if inspect.isawaitable(result) else result

    return grpc.unary_unary_rpc_method_handler(
        unary_unary, request_deserializer=None, response_serializer=handler.response_serializer
    )


class _CheckedGeneric(grpc.GenericRpcHandler):
    def __init__(self, inner: grpc.GenericRpcHandler) -> None:
        self._inner = inner

    def service(self, handler_call_details: Any) -> grpc.RpcMethodHandler | None:
        return _checked(self._inner.service(handler_call_details))


class DecodeChecked:
    """The part of a grpc.aio.Server the generated registration functions call."""

    def __init__(self, server: Any) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(tuple(_CheckedGeneric(h) for h in handlers))

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        checked = {name: _checked(h) for name, h in method_handlers.items()}
        self._server.add_registered_method_handlers(service_name, checked)
