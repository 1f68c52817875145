"""Gateway errors in the OpenAI error schema: ``{"error": {message, type, param, code}}``."""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """A request the gateway refuses or could not serve; ``status`` is the HTTP code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        error_type: str | None = None,  # OpenAI's ``type``; default: by status
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param
        self.headers = headers or {}
        self.error_type = error_type

    @property
    def type(self) -> str:
        """OpenAI's error ``type``: as given, else the class of the HTTP status."""
        if self.error_type is not None:
            return self.error_type
        return {
            400: "invalid_request_error",
            401: "authentication_error",
            402: "insufficient_quota",
            404: "invalid_request_error",
            413: "invalid_request_error",
            429: "rate_limit_error",
        }.get(self.status, "server_error")

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


RETRY_FUNDS_S = 60  # seconds a client waits after the gateway account could not escrow a job


def no_funds(message: str) -> GatewayError:
    """The gateway account cannot escrow the job: 429 ``insufficient_quota`` as OpenAI answers an
    exhausted quota, with Retry-After (the operator may top the account up); never a hang:
    ``x-should-retry: false`` keeps the official clients from sleeping on it and retrying."""
    headers = {"Retry-After": str(RETRY_FUNDS_S), "x-should-retry": "false"}
    return GatewayError(429, "insufficient_funds", message, headers=headers,
                        error_type="insufficient_quota")  # fmt: skip


def bad_request(message: str, param: str | None = None, code: str = "invalid_request") -> Any:
    return GatewayError(400, code, message, param)
