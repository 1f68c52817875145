"""Prometheus metrics of one gateway (docs/metrics.md, "The gateway").

``GatewayMetrics`` keeps its own ``CollectorRegistry`` (one per gateway app, so that tests may run
many in one process). ``MetricsMiddleware`` counts every HTTP request by route and status and
times it; the chat handler reports jobs submitted, finalized (time from submit to FINALIZED and
the tokens returned) and failed by reason; a streamed answer also reports its time to first
token (request start to the first content chunk) and its duration by outcome. No exception inside an update leaves it: a failed
update is logged and counted in ``infera_gateway_metrics_errors_total``, and the request goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("gateway.metrics")

# Path label values: the gateway's routes; any other path counts as "other" (bounded labels).
ROUTES = frozenset({"/v1/models", "/v1/chat/completions", "/v1/completions", "/metrics"})
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
JOB_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)


class GatewayMetrics:
    """Counters and histograms of one gateway, in a registry of its own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "infera_gateway_requests", "HTTP requests by route and status", ["route", "status"],
            registry=r,
        )  # fmt: skip
        self.request_seconds = Histogram(
            "infera_gateway_request_duration_seconds", "HTTP request handling time, by route",
            ["route"], buckets=REQUEST_BUCKETS, registry=r,
        )  # fmt: skip
        self.job_seconds = Histogram(
            "infera_gateway_job_finalize_seconds",
            "Time from the job's submission to its FINALIZED state (time to first token of a "
            "non-streamed answer)", buckets=JOB_BUCKETS, registry=r,
        )  # fmt: skip
        self.tokens = Counter(
            "infera_gateway_completion_tokens", "Completion tokens returned", registry=r
        )
        self.jobs_submitted = Counter(
            "infera_gateway_jobs_submitted", "Jobs submitted (MsgSubmitJob committed)", registry=r
        )
        self.jobs_finalized = Counter(
            "infera_gateway_jobs_finalized", "Submitted jobs answered as finalized", registry=r
        )
        self.jobs_failed = Counter(
            "infera_gateway_jobs_failed", "Submitted jobs not answered, by reason", ["reason"],
            registry=r,
        )  # fmt: skip
        self.stream_first_token_seconds = Histogram(
            "infera_gateway_stream_first_token_seconds",
            "Streamed answers: time from the request to the first content chunk (unverified "
            "route tokens)", buckets=REQUEST_BUCKETS, registry=r,
        )  # fmt: skip
        self.stream_seconds = Histogram(
            "infera_gateway_stream_duration_seconds",
            "Streamed answers: time from the request to the end of the stream, by outcome",
            ["outcome"], buckets=JOB_BUCKETS, registry=r,
        )  # fmt: skip
        self.errors = Counter(
            "infera_gateway_metrics_errors", "Metric updates that failed (ignored)", registry=r
        )

    # -- hooks (never raise) -------------------------------------------------------------------

    def request(self, path: str, status: int, seconds: float) -> None:
        self._guard(self._request, path, status, seconds)

    def job_submitted(self) -> None:
        self._guard(self.jobs_submitted.inc)

    def job_finalized(self, seconds: float, tokens: int) -> None:
        self._guard(self._job_finalized, seconds, tokens)

    def job_failed(self, reason: str) -> None:
        self._guard(self._job_failed, reason)

    def stream_first_token(self, seconds: float) -> None:
        self._guard(self.stream_first_token_seconds.observe, seconds)

    def stream_ended(self, outcome: str, seconds: float) -> None:
        """``outcome``: finalized, mismatch, disconnected or the error code that ended it."""
        self._guard(self._stream_ended, outcome, seconds)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition of the registry and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _guard(self, update: Callable[..., Any], *args: Any) -> None:
        try:
            update(*args)
        except Exception as exc:  # observation only: nothing may reach the request
            try:
                self.errors.inc()
                log.warning("metric update failed", update=repr(update), error=repr(exc))
            except Exception:  # noqa: S110 - even the error counter failing stays here
                pass

    # -- updates -------------------------------------------------------------------------------

    def _request(self, path: str, status: int, seconds: float) -> None:
        route = path if path in ROUTES else "other"
        self.requests.labels(route=route, status=str(int(status))).inc()
        self.request_seconds.labels(route=route).observe(seconds)

    def _job_finalized(self, seconds: float, tokens: int) -> None:
        self.jobs_finalized.inc()
        self.job_seconds.observe(seconds)
        self.tokens.inc(tokens)

    def _stream_ended(self, outcome: str, seconds: float) -> None:
        self.stream_seconds.labels(outcome=outcome).observe(seconds)

    def _job_failed(self, reason: str) -> None:
        self.jobs_failed.labels(reason=reason).inc()


class MetricsMiddleware:
    """Counts and times each HTTP request (status from the response start; 500 if none was sent)."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.monotonic(), [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.request(str(scope.get("path", "")), status[0], time.monotonic() - started)
