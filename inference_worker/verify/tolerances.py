"""The verifier's tolerances: how far honest replicas of one precision class may differ.

Each number was chosen from the measurements in VERIFICATION.md (bench/measure_verification.py).
A hop's class is the loosest among it and every hop before it (`route_tolerances`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

HALF_PRECISION = (torch.bfloat16, torch.float16)


@dataclass(frozen=True)
class Tolerance:
    """What honest replicas of one precision class may differ by (VERIFICATION.md has the
    measurements behind each number)."""

    logit_margin: float  # logits: a claimed token passes when its gap (module doc) <= this
    fingerprint: float  # relative L2 change per 32-position chunk above which a hop deviates
    noise: float  # relative L2: the most an honest hop's fingerprint differs; a hop at or below
    # it is indistinguishable from an honest one (`attribute_culprit`)
    blame_margin: float  # logits: a failed output with clean fingerprints names the last hop
    # only when some gap exceeds this (smaller gaps may come from an upstream cheat below noise)


@dataclass(frozen=True)
class VerifierParams:
    """Tolerances by precision class of the claiming hops (see `route_tolerances`)."""

    full_precision: Tolerance = Tolerance(
        logit_margin=0.05, fingerprint=0.04, noise=0.015, blame_margin=1.0
    )  # float32 routes
    half_precision: Tolerance = Tolerance(
        logit_margin=1.0, fingerprint=0.2, noise=0.1, blame_margin=3.0
    )  # a bfloat16 or float16 hop at or before this one
    amplification: float = 3.0  # the most an honest hop multiplies the distance of its input

    def for_dtype(self, dtype: torch.dtype) -> Tolerance:
        return self.half_precision if dtype in HALF_PRECISION else self.full_precision


def route_tolerances(params: VerifierParams, dtypes: Sequence[torch.dtype]) -> list[Tolerance]:
    """Each hop's tolerance: the loosest class among it and every hop before it. A hop's
    recomputation starts from the recomputed outputs of the hops before, so their precision's
    differences reach it too (an fp32 hop after a bf16 hop inherits bf16-sized differences)."""
    half = [dtype in HALF_PRECISION for dtype in dtypes]
    return [
        params.for_dtype(torch.bfloat16 if any(half[: k + 1]) else torch.float32)
        for k in range(len(dtypes))
    ]
