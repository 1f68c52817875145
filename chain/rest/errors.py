"""REST errors in the Cosmos grpc-gateway shape: ``{"code": N, "message": "...", "details": []}``.

``code`` is the gRPC status code (as the SDK's gateway reports it), the HTTP status follows
grpc-gateway's table (``HTTP_OF_STATUS``). Bad input is always a 4xx: 500 means a bug, here or in
the node.
"""

from __future__ import annotations

from typing import Any

import grpc

# gRPC status -> HTTP status (grpc-gateway runtime.HTTPStatusFromCode).
HTTP_OF_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}


class RestError(Exception):
    """An answer other than 200: the gRPC ``status`` it stands for, and a message for people."""

    def __init__(self, status: grpc.StatusCode, message: str, http_status: int | None = None):
        super().__init__(message)
        self.status, self.message = status, message
        self.http_status = http_status or HTTP_OF_STATUS.get(status, 500)

    def body(self) -> dict[str, Any]:
        return {"code": self.status.value[0], "message": self.message, "details": []}


def bad_request(message: str) -> RestError:
    return RestError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> RestError:
    return RestError(grpc.StatusCode.NOT_FOUND, message)


def too_large(message: str) -> RestError:
    return RestError(grpc.StatusCode.INVALID_ARGUMENT, message, http_status=413)
