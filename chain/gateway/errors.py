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
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param
        self.headers = headers or {}

    @property
    def type(self) -> str:
        """OpenAI's error ``type``: the class of the HTTP status."""
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


def bad_request(message: str, param: str | None = None, code: str = "invalid_request") -> Any:
    return GatewayError(400, code, message, param)
