"""The verifier's tolerances: how far honest replicas of one precision class may differ.

Each number was chosen from the measurements in VERIFICATION.md (bench/measure_verification.py).
A hop's class is the loosest among it and every hop before it (`route_tolerances`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

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


PPM = 1_000_000  # a registration's tolerances are integers: parts per million of relative L2


def with_model_tolerance(
    params: VerifierParams, dtype: torch.dtype, fingerprint_ppm: int, noise_ppm: int
) -> VerifierParams:
    """``params`` with the fingerprint and noise bounds of ``dtype``'s class replaced by a model's
    calibrated ones (its registration's ``verifier_tolerances``; bench/calibrate_tolerances.py
    measures them). Margins, blame margins and amplification stay the class defaults. A job runs
    in one precision class, so its routes use only that class's tolerance."""
    if not 0 < noise_ppm <= fingerprint_ppm <= PPM:
        raise ValueError(f"tolerance {noise_ppm} / {fingerprint_ppm} ppm out of range")
    half = dtype in HALF_PRECISION
    base = params.half_precision if half else params.full_precision
    tolerance = replace(base, fingerprint=fingerprint_ppm / PPM, noise=noise_ppm / PPM)
    if half:
        return replace(params, half_precision=tolerance)
    return replace(params, full_precision=tolerance)


# One probe code step (1/32) at one position of a full 32-position chunk reads
# sqrt((1/32)^2 / 6 / 32) = 0.00226: the smallest nonzero distance honest rounding makes, and
# the least a calibrated noise bound may be (an honest fp32 route that read 0.0000 in every job
# measured may still flip one code on another machine).
QUANTUM_PPM = 2256


def calibrate_tolerance(honest_distances: Iterable[float], margin: float) -> tuple[int, int]:
    """(fingerprint_ppm, noise_ppm) for a registration, from honest hop distances of one model
    and precision class (bench/calibrate_tolerances.py): noise = the largest honest distance x
    `margin` (at least QUANTUM_PPM), fingerprint = noise x `margin`; rounded up."""
    if margin < 1:
        raise ValueError("the margin must be at least 1")
    largest = max(honest_distances, default=0.0)
    if not math.isfinite(largest):
        raise ValueError("an honest distance is not finite (a malformed honest claim)")
    noise = max(math.ceil(largest * margin * PPM), QUANTUM_PPM)
    return min(math.ceil(noise * margin), PPM), min(noise, PPM)


def route_tolerances(params: VerifierParams, dtypes: Sequence[torch.dtype]) -> list[Tolerance]:
    """Each hop's tolerance: the loosest class among it and every hop before it. A hop's
    recomputation starts from the recomputed outputs of the hops before, so their precision's
    differences reach it too (an fp32 hop after a bf16 hop inherits bf16-sized differences)."""
    half = [dtype in HALF_PRECISION for dtype in dtypes]
    return [
        params.for_dtype(torch.bfloat16 if any(half[: k + 1]) else torch.float32)
        for k in range(len(dtypes))
    ]
