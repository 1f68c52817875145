"""Placement decisions of a worker and a route driver: pure functions, no I/O, no torch.

* `split_layers`: cut a model's layers into contiguous spans in proportion to the hops'
  throughput (benchmarks, local networks, a worker choosing how much to serve).
* `choose_span`: the span a new worker should announce: the window of its capacity with the
  least coverage (Petals' rule: strengthen the weakest layers first).
* `choose_replacement`: which candidate takes over a failed hop of a route.
* `progress_timeouts`: per-hop stall timeouts that grow toward the first hop, so that the hop
  right before a stalled one is the first to notice and the failure is named correctly.
* `check_route`: a route's hops tile [0, num_layers) in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class PlacementError(ValueError):
    """A route or a placement request is inconsistent."""


@dataclass(frozen=True)
class HopSpec:
    """One worker serving layers [start, end) of a model at an activation endpoint."""

    worker: str  # operator address (bech32) or a local name
    endpoint: str  # host:port of the worker's Pipeline service
    start: int  # first layer served
    end: int  # one past the last layer served

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)


def check_route(hops: Sequence[HopSpec], num_layers: int) -> None:
    """Raise PlacementError unless `hops` tile layers [0, num_layers) in order."""
    if not hops:
        raise PlacementError("a route needs at least one hop")
    position = 0
    for index, hop in enumerate(hops):
        if hop.start != position or hop.end <= hop.start:
            raise PlacementError(
                f"hop {index} serves [{hop.start}, {hop.end}), expected a span starting at "
                f"layer {position}"
            )
        position = hop.end
    if position != num_layers:
        raise PlacementError(f"the route ends at layer {position}, the model has {num_layers}")


def split_layers(num_layers: int, weights: Sequence[int]) -> list[tuple[int, int]]:
    """Contiguous spans, one per weight (>= 1 layer each), sized in proportion to the weights
    (e.g. measured tokens/s); rounding is by cumulative share, so the spans always tile
    [0, num_layers)."""
    if not weights or any(w <= 0 for w in weights):
        raise PlacementError("weights must be positive")
    if len(weights) > num_layers:
        raise PlacementError(f"{len(weights)} hops cannot share {num_layers} layers")
    total = sum(weights)
    bounds = [0]
    cumulative = 0
    for index, weight in enumerate(weights[:-1]):
        cumulative += weight
        cut = (num_layers * cumulative + total // 2) // total  # nearest layer boundary
        low = bounds[-1] + 1  # every span keeps at least one layer ...
        high = num_layers - (len(weights) - 1 - index)  # ... and leaves one for each later hop
        bounds.append(min(max(cut, low), high))
    bounds.append(num_layers)
    return list(zip(bounds, bounds[1:], strict=False))


def choose_span(num_layers: int, coverage: Sequence[int], capacity_layers: int) -> tuple[int, int]:
    """The window of `capacity_layers` consecutive layers whose least-covered layer is the
    least covered (ties: lower total coverage, then the lowest start).

    coverage: per layer, how much already serves it (e.g. summed throughput of announced spans).
    """
    if len(coverage) != num_layers:
        raise PlacementError(f"coverage lists {len(coverage)} layers, the model has {num_layers}")
    width = min(max(capacity_layers, 1), num_layers)
    best: tuple[int, int, int] | None = None
    for start in range(num_layers - width + 1):
        window = coverage[start : start + width]
        key = (min(window), sum(window), start)
        if best is None or key < best:
            best = key
    assert best is not None  # num_layers >= 1 gives at least one window
    return (best[2], best[2] + width)


def choose_replacement(
    failed: HopSpec,
    candidates: Iterable[HopSpec],
    *,
    exclude_workers: Iterable[str] = (),
    exclude_endpoints: Iterable[str] = (),
) -> HopSpec | None:
    """The first candidate (candidates are in preference order) serving exactly the failed
    hop's span that is not the failed worker, not excluded (workers already on the job's
    routes, hops that failed before) and not at an excluded endpoint; None when there is none."""
    workers = {failed.worker, *exclude_workers}
    endpoints = {failed.endpoint, *exclude_endpoints}
    for candidate in candidates:
        if candidate.span != failed.span:
            continue
        if candidate.worker in workers or candidate.endpoint in endpoints:
            continue
        return candidate
    return None


def progress_timeouts(num_hops: int, base_s: float) -> list[float]:
    """Stall timeout of each hop, seconds: hop i waits (num_hops - 1 - i) x base_s for any reply
    from downstream while it has frames in flight; the last hop waits on nobody (0).

    A stall at hop k is noticed by hop k-1 after base_s x (num_hops - k) and by every earlier
    hop only later, as long as one hop computes one step in less than base_s.
    """
    if num_hops < 1 or base_s <= 0:
        raise PlacementError("need at least one hop and a positive timeout")
    return [base_s * (num_hops - 1 - i) for i in range(num_hops)]
