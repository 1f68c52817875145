"""Prometheus metrics of the app node: node-local observation, never consensus.

``AppMetrics`` reads what CheckTx and FinalizeBlock already answered (the response objects and the
block header) and updates counters and gauges in its own ``CollectorRegistry`` (one per app, so
that tests may run many apps in one process). It writes nothing to the state, changes no result,
and no exception inside an update leaves it: a failed update is logged and counted in
``infera_metrics_errors_total``. Block times come from the header, never from a clock.

Off by default; ``[metrics] enable = true`` in app.toml serves ``/metrics`` over HTTP on
``[metrics] listen`` (``start_metrics_server``). Metric names: docs/metrics.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from chain.nodeconfig import ConfigError

log = structlog.get_logger("chain.metrics")

# Event type -> (metric family, label value) for the job, settlement and slash counters.
JOB_EVENTS = {
    "infera.job_submitted": "submitted",
    "infera.job_assigned": "assigned",
    "infera.reveals_open": "reveals_open",
    "infera.job_finalized": "finalized",
    "infera.job_disputed": "disputed",
    "infera.job_audited": "audited",
    "infera.job_cancelled": "cancelled",
    "infera.job_expired": "expired",
}
SETTLEMENT_EVENTS = {
    "infera.worker_paid": "worker_paid",
    "infera.worker_penalized": "worker_penalized",
    "infera.payout_held": "payout_held",
    "infera.payout_released": "payout_released",
    "infera.payout_refunded": "payout_refunded",
    "infera.verifier_paid": "verifier_paid",
    "infera.dispute_resolved": "dispute_resolved",
    "infera.audit_decided": "audit_decided",
}
SLASH_EVENTS = {"slash": "validator", "slash_worker": "worker"}

MAX_EVENT_TYPES = 256  # distinct event-type labels kept; further types count as "other"
_EVENT_TYPE = re.compile(r"[A-Za-z0-9_.\-/]{1,64}")
_LISTEN = re.compile(r"([A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:]{2,39}\]):([0-9]{1,5})")


class MetricsError(ConfigError):
    """An invalid ``[metrics] listen`` address, or one that cannot be served."""


class AppMetrics:
    """Counters and gauges of one app, in a registry of its own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.height = Gauge("infera_block_height", "Height of the last finalized block", registry=r)
        self.block_time = Gauge(
            "infera_block_time_seconds",
            "Header time of the last finalized block (Unix seconds)",
            registry=r,
        )
        self.block_interval = Gauge(
            "infera_block_interval_seconds",
            "Header time of the last finalized block minus the previous one's",
            registry=r,
        )
        self.block_txs = Gauge("infera_block_txs", "Transactions in the last block", registry=r)
        self.block_gas = Gauge(
            "infera_block_gas_used", "Gas used by the transactions of the last block", registry=r
        )
        self.blocks = Counter("infera_blocks", "Blocks finalized", registry=r)
        self.txs = Counter(
            "infera_txs", "Block transactions by result", ["codespace", "code"], registry=r
        )
        self.gas = Counter("infera_gas_used", "Gas used by block transactions", registry=r)
        self.check_txs = Counter(
            "infera_checktx", "CheckTx answers (new and recheck) by result", ["code"], registry=r
        )
        self.check_rejections = Counter(
            "infera_checktx_rejected",
            "CheckTx rejections by codespace and code",
            ["codespace", "code"],
            registry=r,
        )
        self.events = Counter(
            "infera_block_events", "FinalizeBlock events by type", ["type"], registry=r
        )
        self.jobs = Counter(
            "infera_job_transitions", "Job state transitions (events)", ["state"], registry=r
        )
        self.settlements = Counter(
            "infera_settlements", "Settlement events by outcome", ["outcome"], registry=r
        )
        self.slashes = Counter("infera_slashes", "Slashes by kind", ["kind"], registry=r)
        self.errors = Counter(
            "infera_metrics_errors", "Metric updates that failed (ignored)", registry=r
        )
        self._last_time_ns = 0
        self._event_types: set[str] = set()

    # -- hooks called by InferaApp (never raise) -----------------------------------------------

    def check_tx(self, response: Any) -> None:
        self._guard(self._check_tx, response)

    def finalize_block(self, request: Any, response: Any) -> None:
        self._guard(self._finalize_block, request, response)

    def _guard(self, update: Callable[..., None], *args: Any) -> None:
        try:
            update(*args)
        except Exception as exc:  # observation only: nothing may reach the ABCI handler
            try:
                self.errors.inc()
                log.warning("metric update failed", update=update.__name__, error=repr(exc))
            except Exception:  # noqa: S110 - even the error counter failing stays here
                pass

    # -- updates -------------------------------------------------------------------------------

    def _check_tx(self, response: Any) -> None:
        code = int(response.code)
        self.check_txs.labels(code=str(code)).inc()
        if code != 0:
            self.check_rejections.labels(codespace=str(response.codespace), code=str(code)).inc()

    def _finalize_block(self, request: Any, response: Any) -> None:
        time_ns = int(request.time.seconds) * 1_000_000_000 + int(request.time.nanos)
        self.height.set(int(request.height))
        self.block_time.set(time_ns / 1e9)
        if self._last_time_ns:
            self.block_interval.set((time_ns - self._last_time_ns) / 1e9)
        self._last_time_ns = time_ns
        self.blocks.inc()
        gas = 0
        for result in response.tx_results:
            gas += int(result.gas_used)
            self.txs.labels(codespace=str(result.codespace), code=str(int(result.code))).inc()
        self.block_txs.set(len(response.tx_results))
        self.block_gas.set(gas)
        self.gas.inc(gas)
        for event in response.events:
            self._event(str(event.type))
        for result in response.tx_results:
            for event in result.events:
                self._event(str(event.type))

    def _event(self, kind: str) -> None:
        if kind in JOB_EVENTS:
            self.jobs.labels(state=JOB_EVENTS[kind]).inc()
        elif kind in SETTLEMENT_EVENTS:
            self.settlements.labels(outcome=SETTLEMENT_EVENTS[kind]).inc()
        elif kind in SLASH_EVENTS:
            self.slashes.labels(kind=SLASH_EVENTS[kind]).inc()
        if kind not in self._event_types:
            if len(self._event_types) >= MAX_EVENT_TYPES or not _EVENT_TYPE.fullmatch(kind):
                kind = "other"
            else:
                self._event_types.add(kind)
        self.events.labels(type=kind).inc()


def parse_listen(address: str) -> tuple[str, int]:
    """``host:port`` -> (host, port); ``[::1]:port`` for IPv6."""
    match = _LISTEN.fullmatch(address)
    if not match or not 0 < int(match.group(2)) <= 65535:
        raise MetricsError(f"invalid [metrics] listen address: {address!r} (want host:port)")
    return match.group(1).strip("[]"), int(match.group(2))


def start_metrics_server(metrics: AppMetrics, address: str) -> Any:
    """Serve ``/metrics`` of ``metrics.registry`` on ``address``; returns the server
    (``shutdown()`` stops it). Runs on a daemon thread of prometheus_client."""
    host, port = parse_listen(address)
    try:
        server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as exc:
        raise MetricsError(
            f"cannot serve metrics on {address}: {exc.strerror or exc} (see [metrics] in app.toml)"
        ) from None
    log.info("metrics server started", address=address)
    return server
