"""Prometheus metrics of one inference worker: tokens, routes, hop sessions, latency, refusals.

``WorkerMetrics`` keeps its counters, gauges and histograms in a ``CollectorRegistry`` of its own
(one per worker, no process-global metrics, so that tests may run many workers in one process).
The Pipeline server (``pipeline/server.py``), the Generate call (``generate_service.py``) and
the worker lifecycle (``node/worker.py``) call its hooks, one line each. Every hook runs inside a
guard: an exception in a metric is logged and counted in ``infera_worker_metrics_errors_total``
and never reaches the caller, so a broken metric never breaks serving. Times are the worker's
monotonic clock (this is not chain code).

Off by default; worker.toml's ``[metrics] enable = true`` serves ``GET /metrics`` on
``[metrics] listen`` (``WorkerMetrics.serve``). Metric names: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from chain.metrics import parse_listen
from chain.nodeconfig import ConfigError as ChainConfigError
from infera.worker.v1 import pipeline_pb2 as pb
from inference_worker.node.config import ConfigError, MetricsConfig

log = structlog.get_logger("infera.worker.metrics")

T = TypeVar("T")

# Session ends (server._drop) by the code its owner is told.
SESSION_END = {pb.ERROR_CODE_EXPIRED: "expired", pb.ERROR_CODE_SUPERSEDED: "superseded"}
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RATE_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)
FIRST_TOKEN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
ERROR_KINDS = (
    "frame_internal",  # an unexpected exception while handling a frame (a bug; refused INTERNAL)
    "downstream_failed",  # the next hop of a session failed (reported up as HOP_FAILED)
    "job_failed",  # a job's lifecycle raised and the job was abandoned
    "broadcast_refused",  # the node refused a commit or reveal transaction (retried)
    "heartbeat",  # a heartbeat failed (retried next round)
)


class MetricsError(ConfigError):
    """``[metrics] listen`` cannot be served (a busy or unavailable address)."""


class WorkerMetrics:
    """The metrics of one worker, in a registry of its own (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.tokens = Counter(
            "infera_worker_tokens", "Tokens generated, by this worker's role", ["role"], registry=r
        )
        self.routes = Counter(
            "infera_worker_routes", "Routes driven from this worker, by outcome", ["outcome"],
            registry=r,
        )  # fmt: skip
        self.routes_active = Gauge(
            "infera_worker_routes_active", "Routes being driven from this worker now", registry=r
        )
        self.route_rate = Histogram(
            "infera_worker_route_tokens_per_second",
            "Tokens per second of each completed driven route (tokens / total time)",
            buckets=RATE_BUCKETS,
            registry=r,
        )
        self.route_first_token = Histogram(
            "infera_worker_route_first_token_seconds",
            "Time from a driven route's start to its first token",
            buckets=FIRST_TOKEN_BUCKETS,
            registry=r,
        )
        self.sessions_active = Gauge(
            "infera_worker_sessions_active", "Hop sessions this worker holds now", registry=r
        )
        self.sessions_ended = Counter(
            "infera_worker_sessions_ended", "Hop sessions ended, by outcome", ["outcome"],
            registry=r,
        )  # fmt: skip
        self.hop_forward = Histogram(
            "infera_worker_hop_forward_seconds",
            "Time a hop takes for one received frame: compute thread wait, decode, evidence "
            "check, its layers, then the encoded and signed frame or the chosen token",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.refusals = Counter(
            "infera_worker_frame_refusals", "Frames refused, by error code", ["reason"],
            registry=r,
        )  # fmt: skip
        self.errors = Counter(
            "infera_worker_errors", "Errors by kind (serving went on)", ["kind"], registry=r
        )
        self.jobs = Counter(
            "infera_worker_jobs", "Chain jobs this worker finished, by outcome", ["outcome"],
            registry=r,
        )  # fmt: skip
        self.metric_errors = Counter(
            "infera_worker_metrics_errors", "Metric updates that failed (ignored)", registry=r
        )
        self._sessions: Callable[[], int] = lambda: 0
        self.sessions_active.set_function(self._read_sessions)
        self._http: Any = None

    # --- hooks (never raise) -------------------------------------------------------------------

    def watch_sessions(self, count: Callable[[], int]) -> None:
        """The active-sessions gauge reads `count()` at every scrape (the server's sessions)."""
        self._sessions = count

    def hop_forwarded(self, step: int, seconds: float, *, token: bool) -> None:
        """A hop ran the frame of `step` (0: the prompt) in `seconds`; `token`: it chose the
        step's token (the route's last hop)."""
        self._guard(self._hop_forwarded, step, seconds, token)

    def frame_refused(self, code: int) -> None:
        """A frame was answered with a SessionError of `code` (server._refuse)."""
        self._guard(self._frame_refused, code)

    def session_ended(self, *, code: int | None, normal: bool) -> None:
        """A hop session was dropped (server._drop): a normal close, or why it was told."""
        self._guard(self._session_ended, code, normal)

    def error(self, kind: str) -> None:
        """An error of `kind` (ERROR_KINDS) that serving survived."""
        self._guard(self._error, kind)

    def job_saved(self, phase: str) -> None:
        """A job record was saved in `phase`; REVEALED and ABANDONED count as outcomes."""
        self._guard(self._job_saved, phase)

    async def track_route(self, route: Awaitable[T]) -> T:
        """Await a driven route (`route.drive_route`), counting it active meanwhile, then its
        outcome, tokens, tokens per second and time to first token. Re-raises its error."""
        self._guard(self.routes_active.inc)
        try:
            result = await route
        except BaseException as err:
            self._guard(self._route_failed, err)
            raise
        finally:
            self._guard(self.routes_active.dec)
        self._guard(self._route_done, result)
        return result

    def _guard(self, update: Callable[..., None], *args: Any) -> None:
        try:
            update(*args)
        except Exception as exc:  # observation only: nothing may reach the serving code
            try:
                self.metric_errors.inc()
                log.warning("metric update failed", update=update.__name__, error=repr(exc))
            except Exception:  # noqa: S110 - even the error counter failing stays here
                pass

    def _read_sessions(self) -> float:
        try:
            return float(self._sessions())
        except Exception as exc:  # a scrape must not fail on a broken count
            self._guard(self._count_error, exc)
            return 0.0

    def _count_error(self, exc: Exception) -> None:
        self.metric_errors.inc()
        log.warning("metric read failed", metric="infera_worker_sessions_active", error=repr(exc))

    # --- updates -------------------------------------------------------------------------------

    def _hop_forwarded(self, step: int, seconds: float, token: bool) -> None:
        stage = "prefill" if step == 0 else "decode"
        self.hop_forward.labels(stage=stage).observe(seconds)
        if token:
            self.tokens.labels(role="last_hop").inc()

    def _frame_refused(self, code: int) -> None:
        name = pb.ErrorCode.Name(code) if code in pb.ErrorCode.values() else "ERROR_CODE_OTHER"
        self.refusals.labels(reason=name.removeprefix("ERROR_CODE_").lower()).inc()
        if code == pb.ERROR_CODE_INTERNAL:
            self.errors.labels(kind="frame_internal").inc()

    def _session_ended(self, code: int | None, normal: bool) -> None:
        outcome = "completed" if normal else SESSION_END.get(code or 0, "aborted")
        self.sessions_ended.labels(outcome=outcome).inc()

    def _error(self, kind: str) -> None:
        self.errors.labels(kind=kind if kind in ERROR_KINDS else "other").inc()

    def _job_saved(self, phase: str) -> None:
        if phase in ("revealed", "abandoned"):
            self.jobs.labels(outcome=phase).inc()

    def _route_done(self, result: Any) -> None:
        count = len(result.tokens)
        self.routes.labels(outcome="completed").inc()
        self.tokens.labels(role="driver").inc(count)
        if count and result.total_s > 0:
            self.route_rate.observe(count / result.total_s)
        if count:
            self.route_first_token.observe(result.time_to_first_token_s)

    def _route_failed(self, err: BaseException) -> None:
        from inference_worker.pipeline.route import RouteError  # torch: only once routes run

        if isinstance(err, RouteError):
            outcome = "failed"
        elif isinstance(err, Exception):
            outcome = "error"
        else:
            outcome = "cancelled"
        self.routes.labels(outcome=outcome).inc()

    # --- the HTTP endpoint ---------------------------------------------------------------------

    def serve(self, config: MetricsConfig) -> None:
        """Serve ``GET /metrics`` on ``config.listen`` when ``config.enable`` (a daemon thread
        of prometheus_client); MetricsError when the address cannot be served."""
        if not config.enable:
            return
        try:
            host, port = parse_listen(config.listen)
        except ChainConfigError as err:
            raise MetricsError(f"metrics.listen: {err}") from None
        try:
            self._http, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise MetricsError(
                f"metrics.listen: cannot serve metrics on {config.listen}: "
                f"{exc.strerror or exc} (see [metrics] in worker.toml)"
            ) from None
        log.info("worker metrics served", address=config.listen)

    @property
    def port(self) -> int:
        """The port ``/metrics`` is served on (0: not served)."""
        return int(self._http.server_port) if self._http is not None else 0

    def close(self) -> None:
        """Stop serving ``/metrics`` (if served)."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
