"""Plain data of route selection (see docs/inference-modules-contract.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hop:
    """One worker of a route, running its whole announced span: layers [start, end)."""

    operator: bytes  # 20-byte operator address
    start: int
    end: int


Route = tuple[Hop, ...]  # hops in pipeline order, tiling [0, num_layers)


@dataclass(frozen=True)
class Candidate:
    """An announced span of an active worker, with its selection weight."""

    operator: bytes
    start: int
    end: int
    weight: int  # bonded stake (uinfera) x min(reputation, max factor) (micro-units)
    speed: int  # measured speed score 0..1000 (placement only, never the weight)
