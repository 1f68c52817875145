"""Which hop a failed claim is blamed on, and what each hop's revealed input evidence is worth.

`attribute_culprit` walks back from the first deviating hop while amplification of an earlier
deviation explains it; `evidence_statuses` classifies the late rows each hop revealed it received
(`frames.EvidenceStatus`); `unevidenced_boundary` keeps a receiver unnamed where its sender owed
evidence that it does not hold.
"""

from __future__ import annotations

from collections.abc import Sequence

from inference_worker.pipeline.frames import (
    ChainContext,
    EvidenceStatus,
    expected_address,
    verify_late_evidence,
)
from inference_worker.verify.evidence import RouteClaim
from inference_worker.verify.fingerprint import (
    Fingerprint,
    FingerprintError,
    derive_late_probe_seed,
)
from inference_worker.verify.output_check import OutputVerdict
from inference_worker.verify.tolerances import Tolerance


def late_seed(claim: RouteClaim) -> int:
    """The route's late probe seed: from the job's probe seed and the hash the chain compares
    for the claimed output (a sealed job's sealed hash: `RouteClaim.late_output_hash`)."""
    return derive_late_probe_seed(claim.probe_seed, claim.late_output_hash)


def unevidenced_boundary(claim: RouteClaim, statuses: Sequence[EvidenceStatus], hop: int) -> bool:
    """Whether hop `hop` (> 0) holds no valid late evidence from a sender that owed it (a
    chain route: the sender is named by an account address). An honest sender always sends
    it and an honest receiver keeps it when it is valid (and reveals without it otherwise),
    so a missing one is a withholding sender or a lying receiver, and a deviation that starts
    at this boundary may be either's: the receiver is not named on it."""
    if hop == 0 or claim.job_id is None:
        return False
    owed = expected_address(claim.hops[hop - 1].worker) is not None
    return owed and statuses[hop] in (EvidenceStatus.ABSENT, EvidenceStatus.FOREIGN)


def evidence_statuses(claim: RouteClaim) -> list[EvidenceStatus]:
    """Per hop, what the input evidence it revealed is worth (`frames.EvidenceStatus`).

    The rule for blame: an honest receiver keeps exactly what it checked at receipt, so
    evidence that is malformed, whose last signature does not recover to the signer it names
    over the revealed rows, or that does not cover every position of the route is BAD, and
    the hop that revealed it is at fault. Evidence that is consistent but signed by another
    key than the route's sending worker (a replaced hop, or a receiver that signed rows
    itself) is FOREIGN: unusable, and nobody's provable fault. The first hop receives no
    frames: evidence in its reveal is BAD. A claim without a job id cannot be checked: ABSENT.
    """
    out = []
    for index, hop in enumerate(claim.hops):
        if hop.malformed:
            out.append(EvidenceStatus.BAD)
        elif hop.received is None or claim.job_id is None:
            out.append(EvidenceStatus.ABSENT)
        elif index == 0:
            out.append(EvidenceStatus.BAD)
        else:
            context = ChainContext(claim.job_id, claim.route_index, sender_hop=index - 1)
            status, _ = verify_late_evidence(
                hop.received,
                context,
                expected=expected_address(claim.hops[index - 1].worker),
                positions=len(claim.sequence),
                output_hash=claim.late_output_hash,
            )
            out.append(status)
    return out


def signed_rows(claim: RouteClaim, receiver: int, seed: int) -> Fingerprint | bytes | None:
    """The late rows hop `receiver` - 1 signed, as hop `receiver` revealed them; b"" (which
    never matches) when the signed rows themselves are malformed (the signer signed garbage)."""
    evidence = claim.hops[receiver].received
    if evidence is None:
        return None
    try:
        return evidence.fingerprint(seed)
    except FingerprintError:
        return b""


def attribute_culprit(
    distances: Sequence[float],
    tolerances: Sequence[Tolerance],
    output: OutputVerdict,
    amplification: float,
) -> int | None:
    """Which hop to hold responsible for a failed claim, or None when the evidence cannot
    single one out (the claim still fails; nobody should be slashed on it).

    A hop deviates when its distance exceeds its tolerance. Deviations propagate and grow: an
    honest hop fed states at distance d returns states at distance up to ``amplification * d +
    noise``. Starting from the FIRST deviating hop k:
    - if its distance is more than amplification explains, k is named;
    - if it is explained and hop k-1 was above honest noise, continue from k-1 (a cheat just
      under the tolerance, amplified past it by an honest hop, names the cheat);
    - if it is explained by a hop k-1 within honest noise, nobody is named (k may be honest,
      fed a cheat too small to see).
    With no deviating hop but a failed output check: the first hop above honest noise (a cheat
    under the tolerance can move near-tie tokens), walked back the same way; with every hop
    within noise, the last hop (it chose the tokens from honest hidden states) when a gap
    exceeds its blame margin, else nobody.
    """
    noise = [t.noise for t in tolerances]
    over = [
        k for k, (d, t) in enumerate(zip(distances, tolerances, strict=True)) if d > t.fingerprint
    ]
    if over:
        return _origin(over[0], distances, noise, amplification)
    if output.ok:
        return None
    noisy = [k for k, (d, n) in enumerate(zip(distances, noise, strict=True)) if d > n]
    if noisy:
        return _origin(noisy[0], distances, noise, amplification)
    return len(distances) - 1 if output.max_gap > tolerances[-1].blame_margin else None


def _origin(
    hop: int, distances: Sequence[float], noise: Sequence[float], amplification: float
) -> int | None:
    """Walk back from a suspicious hop while amplification of the hop before explains it."""
    while hop > 0 and distances[hop] <= amplification * distances[hop - 1] + noise[hop]:
        if distances[hop - 1] <= noise[hop - 1]:
            return None  # explained by a hop within honest noise: it may have hidden a cheat
        hop -= 1
    return hop
