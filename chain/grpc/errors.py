"""Chain errors as gRPC statuses, mapped in one place.

Bad input is the caller's fault and says so: INVALID_ARGUMENT (malformed address, denom, height,
pagination, tx bytes) or NOT_FOUND (a well-formed name of something that does not exist). INTERNAL
is kept for bugs. The status message is the Cosmos-style log (``detail: description``) followed by
the codespace and code, so clients can both read it and match it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import structlog

from chain.cli.rpc import NodeUnreachableError, RPCError
from chain.errors import SDK, ChainError

log = structlog.get_logger("chain.grpc")

_NOT_FOUND_SDK_CODES = {9, 38}  # unknown address, not found
_UNIMPLEMENTED_SDK_CODES = {37}  # feature not supported

T = TypeVar("T")


class GrpcAbort(Exception):
    """Raised inside a handler to end the call with ``code`` and ``message``."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def invalid(message: str) -> GrpcAbort:
    return GrpcAbort(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> GrpcAbort:
    return GrpcAbort(grpc.StatusCode.NOT_FOUND, message)


def status_of(err: ChainError) -> grpc.StatusCode:
    """The gRPC status for a chain error raised by a query or a simulation."""
    if err.codespace == SDK and err.code in _NOT_FOUND_SDK_CODES:
        return grpc.StatusCode.NOT_FOUND
    if err.codespace == SDK and err.code in _UNIMPLEMENTED_SDK_CODES:
        return grpc.StatusCode.UNIMPLEMENTED
    if "not found" in err.kind.description or err.kind.description.startswith("unknown "):
        return grpc.StatusCode.NOT_FOUND  # module errors: "model not found", "unknown model"
    return grpc.StatusCode.INVALID_ARGUMENT


def message_of(err: ChainError) -> str:
    return f"{err.log} (codespace {err.codespace}, code {err.code})"


def to_abort(exc: BaseException) -> GrpcAbort:
    """Any exception a handler raised, as the status the caller gets."""
    if isinstance(exc, GrpcAbort):
        return exc
    if isinstance(exc, ChainError):
        return GrpcAbort(status_of(exc), message_of(exc))
    if isinstance(exc, NodeUnreachableError):
        return GrpcAbort(grpc.StatusCode.UNAVAILABLE, f"CometBFT RPC unavailable: {exc}")
    if isinstance(exc, RPCError):
        return GrpcAbort(grpc.StatusCode.UNAVAILABLE, f"CometBFT RPC failed: {exc}")
    log.exception("gRPC handler failed", exc_info=exc)
    return GrpcAbort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}")


def guarded(
    method: Callable[..., Awaitable[T]],
) -> Callable[..., Awaitable[T]]:
    """Wrap an async servicer method: exceptions become the mapped gRPC status."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> T:
        try:
            return await method(self, request, context)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status
            abort = to_abort(exc)
            await context.abort(abort.code, abort.message)
            raise  # unreachable: abort raises

    return wrapper
