"""A validator's check of a route's claim: teacher-forced re-scoring and per-hop fingerprints.

`verify_route` recomputes the route in ONE forward pass over ``prompt + claimed tokens[:-1]``,
hop by hop, each hop's layers in that hop's declared dtype (a bf16 worker is recomputed in
bf16: cross-precision differences are ~10x larger than same-precision ones, see
VERIFICATION.md), hidden states passing through the job's wire codec at each boundary as they
did in the route:

1. **Per-hop fingerprints**, all with the route's LATE probe seed (`late_seed`: from the
   job's probe seed and the claimed output's hash, so no hop could aim a perturbation at
   these probes). Hop k is recomputed from its input: the states it RECEIVED when it handed
   over its frames and they check against its sender's signed chain (`HopClaim.received_frames`,
   `frames.received_states`; then hop k-1 is also judged on the exact distance between those
   states and what it would honestly have sent, `fingerprint.state_distances`), else the
   recomputed output of hop k-1. The recomputed output's fingerprint is compared with hop
   k's fingerprint (`compare_fingerprints`; the tolerance class is the loosest of hop k's
   precision and every earlier hop's, `route_tolerances`). Which fingerprint: for hops
   0..n-2, the late rows hop k SIGNED once the output was known, as hop k+1 revealed them,
   when their signature verifies against hop k's worker address and the claimed output
   (`frames.verify_late_evidence`; compared with the recomputed states after the wire codec,
   what hop k+1 decoded); else (none, or signed by another key) the fingerprint hop k
   revealed itself. A hop cannot lie in its fingerprint to shift the blame downstream: its
   successor holds its signature over what it actually sent (honest successors refuse rows
   that do not match), and cannot forge that signature to frame it. The FIRST hop whose
   fingerprint deviates is the culprit (every later hop received corrupted input), unless
   that deviation is explained by amplification of a smaller one before it; when the
   evidence cannot single out a hop, none is named (`attribute_culprit`). On a chain route
   (senders named by account addresses), a hop k+1 holding no valid late evidence from hop
   k is never named on a deviation that starts at its input (`attribution.unevidenced_boundary`): an
   honest sender always sends it (and an honest receiver keeps it when valid, revealing
   without it otherwise), so its absence is a withholding sender or a lying receiver, and the
   evidence cannot say which.
2. **Teacher-forced output check** on the last hop's recomputed logits (`check_output`):
   - greedy: claimed token c at a position passes when ``max(logits) - logits[c] <= margin``;
   - sampled: the seeded sampler (`generate.select_token`, torch.multinomial: token =
     argmax(p_i / q_i), q_i ~ Exp(1) drawn from the job's seeded generator, vocab-size draws
     per step) is replayed on the recomputed logits. c passes when it is the replayed choice
     w, or when its *gap* <= margin: how far one logit must at least shift against another
     for c to be the choice with the same draws (logit units, so one margin serves greedy and
     sampling). With ``score_i = logit_i / T - log q_i``, every token i must score no higher
     than c (c gains ``T * (score_i - score_c)`` on i) or, with top-k, leave the top k (i
     loses ``logit_i - logit_(k+1)``), whichever is less; and c must be in the top k
     (``logit_(k) - logit_c``). The second way out matters: a token a precision difference
     put just inside the verifier's top k (outside the route's) may have a large draw.
   Also checked: no token after a stop token, a short output ends with a stop token, no output
   longer than max_new_tokens, token ids in the vocabulary.
   With every fingerprint within tolerance a failed output check names the last hop (it chose
   the tokens from honest hidden states) when the gap is beyond what a hidden cheat upstream
   could cause.
3. **Evidence.** A hop whose own reveal holds provably bad input evidence (malformed bytes, a
   signature that does not cover the revealed rows, rows that do not cover the route's
   positions: never what an honest receiver keeps) fails the claim, and is named when the
   fingerprints and output name nobody (`evidence_statuses`).

The pieces live beside this module: `output_check` (step 2), `attribution` (blame and
evidence), `tolerances`. Tolerances (`VerifierParams`) are per precision class and were chosen from the measurements in
VERIFICATION.md (bench/measure_verification.py); a model may register its own fingerprint and
noise bounds per class (`tolerances.with_model_tolerance`, measured by
bench/calibrate_tolerances.py), which the sidecar passes in for that model's jobs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from inference_worker.families import SpanParts
from inference_worker.pipeline.codec import decode, encode
from inference_worker.pipeline.frames import ChainContext, EvidenceStatus, received_states
from inference_worker.pipeline.shard import Shard, attention_kernel, load_shard
from inference_worker.verify.attribution import (
    attribute_culprit,
    evidence_statuses,
    late_seed,
    signed_rows,
    unevidenced_boundary,
)
from inference_worker.verify.evidence import RouteClaim
from inference_worker.verify.fingerprint import (
    Fingerprint,
    FingerprintError,
    compare_fingerprints,
    fingerprint_bytes,
    state_distances,
)
from inference_worker.verify.output_check import (
    OutputVerdict,
    VerifierError,
    check_output,
    structure_failure,
)
from inference_worker.verify.tolerances import (
    HALF_PRECISION,
    Tolerance,
    VerifierParams,
    route_tolerances,
)

__all__ = [
    "HALF_PRECISION",
    "HopCheck",
    "OutputVerdict",
    "ReferenceModel",
    "RouteVerdict",
    "Tolerance",
    "VerifierError",
    "VerifierParams",
    "attribute_culprit",
    "check_output",
    "late_seed",
    "route_tolerances",
    "verify_output",
    "verify_route",
]


@dataclass(frozen=True)
class HopCheck:
    """One hop's fingerprint against the recomputation."""

    hop: int
    ok: bool
    first_bad_chunk: int | None  # chunk of 32 positions where it first exceeds the tolerance
    distance: float  # largest chunk distance (relative L2), inf for a malformed fingerprint
    tolerance: float
    source: str = "own"  # whose fingerprint of hop k's output was compared: "own" (hop k's
    # reveal) or "signed" (hop k's signed frame rows, from hop k+1's reveal)
    evidence: EvidenceStatus = EvidenceStatus.ABSENT  # what hop k's own input evidence is worth
    input: str = "reference"  # what hop k was recomputed from: "frames" (the states it proved
    # it received) or "reference" (the recomputation of the hops before it)
    sent_distance: float | None = None  # exact distance between what hop k+1 proved it
    # received and hop k's recomputed output (None: hop k+1 handed over no frames)


@dataclass(frozen=True)
class RouteVerdict:
    """Outcome of checking a route's claim."""

    output: OutputVerdict
    hops: tuple[HopCheck, ...] = field(default_factory=tuple)
    culprit_hop: int | None = None  # the hop held responsible (`attribute_culprit`); None
    # when the claim passes

    @property
    def ok(self) -> bool:
        return self.output.ok and all(
            check.ok and check.evidence is not EvidenceStatus.BAD for check in self.hops
        )


class ReferenceModel:
    """The validator's copy of one model: shards covering every layer, per dtype."""

    def __init__(self, shards_by_dtype: dict[torch.dtype, Sequence[Shard]]):
        if not shards_by_dtype:
            raise VerifierError("a reference model needs shards in at least one dtype")
        self.shards = {dtype: list(shards) for dtype, shards in shards_by_dtype.items()}
        for dtype, shards in self.shards.items():
            ends = [(s.span_start, s.span_end) for s in shards]
            bounds = [0, *[end for _, end in ends]]
            if [start for start, _ in ends] != bounds[:-1] or not shards[-1].is_last:
                raise VerifierError(f"{dtype} shards do not cover the model in order: {ends}")
        any_shard = next(iter(self.shards.values()))[0]
        self.num_layers = any_shard.num_layers
        self.vocab_size = int(any_shard.config.vocab_size)

    @classmethod
    def load(
        cls,
        model_dir: Path | str,
        dtypes: Iterable[torch.dtype] = (torch.float32,),
        *,
        device: str = "cpu",
    ) -> ReferenceModel:
        """One whole-model shard per dtype from a prepared folder."""
        from inference_worker.models import read_manifest

        layers = read_manifest(Path(model_dir)).num_layers
        return cls({d: [load_shard(model_dir, 0, layers, dtype=d, device=device)] for d in dtypes})

    def _shards(self, dtype: torch.dtype) -> list[Shard]:
        if dtype not in self.shards:
            raise VerifierError(f"the validator holds no {dtype} copy of the model")
        return self.shards[dtype]

    @torch.inference_mode()
    def embed(self, ids: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
        """Token ids -> hidden (1, seq, hidden) at positions 0..seq-1."""
        return self._shards(dtype)[0].embed(torch.tensor([list(ids)], dtype=torch.long))

    @torch.inference_mode()
    def run_layers(
        self, hidden: torch.Tensor, start: int, end: int, dtype: torch.dtype
    ) -> torch.Tensor:
        """Layers [start, end) over a whole sequence, no KV cache: (1, seq, hidden) in `dtype`."""
        if not 0 <= start < end <= self.num_layers:
            raise VerifierError(f"span [{start}, {end}) is not part of 0..{self.num_layers}")
        positions = torch.arange(hidden.shape[1]).unsqueeze(0)  # (1, seq)
        for shard in self._shards(dtype):
            lo, hi = max(start, shard.span_start), min(end, shard.span_end)
            if lo >= hi:
                continue
            layers = shard.parts.layers[lo - shard.span_start : hi - shard.span_start]
            parts = SpanParts(shard.config, lo, hi, layers, {}, shard.parts.helpers)
            with attention_kernel(shard.device, shard.dtype):  # the kernel every hop uses
                hidden = shard.family.run_layers(
                    parts,
                    hidden.to(device=shard.device, dtype=shard.dtype),
                    kv_cache=None,
                    positions=positions.to(shard.device),
                    attention_mask=None,
                )
        return hidden

    @torch.inference_mode()
    def logits(self, hidden: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Final norm + LM head over every position: (1, seq, hidden) -> (seq, vocab) float32."""
        return self._shards(dtype)[-1].head(hidden, last_only=False)[0].float()


# --- the route walk ---------------------------------------------------------------------------


def _through_codec(hidden: torch.Tensor, codec: str | None, prompt_len: int) -> torch.Tensor:
    """Hidden (1, seq, hidden) as the next hop received it: the prompt in one frame, then one
    position per frame, each encoded and decoded with the job's codec."""
    if codec is None:
        return hidden
    frames = [hidden[:, :prompt_len]] + list(hidden[:, prompt_len:].split(1, dim=1))
    out = [decode(encode(f, codec), codec, expected_shape=tuple(f.shape)) for f in frames]
    return torch.cat([f for f in out if f.shape[1]], dim=1)


def _check_spans(claim: RouteClaim, num_layers: int) -> None:
    bounds = [0, *[hop.end for hop in claim.hops]]
    starts = [hop.start for hop in claim.hops]
    if not claim.hops or starts != bounds[:-1] or bounds[-1] != num_layers:
        spans = [(h.start, h.end) for h in claim.hops]
        raise VerifierError(f"hops {spans} do not cover layers 0..{num_layers} in order")


@torch.inference_mode()
def verify_route(
    reference: ReferenceModel, claim: RouteClaim, params: VerifierParams | None = None
) -> RouteVerdict:
    """Check a route's claimed output and every hop's fingerprint in one forward pass."""
    params = params or VerifierParams()
    _check_spans(claim, reference.num_layers)
    structure = structure_failure(claim, reference.vocab_size)
    if structure is not None:  # no well-formed sequence to recompute: the last hop chose it
        return RouteVerdict(structure, (), len(claim.hops) - 1)
    tolerances = route_tolerances(params, [hop.dtype for hop in claim.hops])
    seed = late_seed(claim)
    statuses = evidence_statuses(claim)
    received = [_received_input(claim, k, statuses) for k in range(len(claim.hops))]
    prompt_len = len(claim.prompt_ids)
    hidden = reference.embed(claim.sequence, claim.hops[0].dtype)  # (1, seq, hidden)
    judged_in = hidden  # hop k's input as judged: what it received, when that is proven
    checks = []
    last = len(claim.hops) - 1
    for index, hop in enumerate(claim.hops):
        reference_in = hidden
        hidden = reference.run_layers(hidden, hop.start, hop.end, hop.dtype)  # reference path
        proven = received[index]
        if proven is not None:
            judged_in = proven
        if judged_in is reference_in or torch.equal(judged_in, reference_in.float()):
            judged_out = hidden  # the common case: judged on the reference input
        else:  # hop k computed on other states than the reference's: judge it on those
            judged_out = reference.run_layers(judged_in, hop.start, hop.end, hop.dtype)
        signed = signed_rows(claim, index + 1, seed) if index < last else None
        if index < last:  # what hop index + 1 decoded, had hop index been honest
            sent = _through_codec(judged_out, claim.codec, prompt_len)
        if signed is not None and statuses[index + 1] is EvidenceStatus.VALID:
            check = _check_hop(index, signed, sent, seed, tolerances[index], source="signed")
        else:
            check = _check_hop(index, hop.fingerprint, judged_out, seed, tolerances[index])
        proven_next = received[index + 1] if index < last else None
        if proven_next is not None:  # hop index + 1 proved what it received from this hop
            check = _check_sent(check, proven_next, sent, tolerances[index])
        input_source = "frames" if proven is not None else "reference"
        checks.append(replace(check, evidence=statuses[index], input=input_source))
        if index < last:
            hidden = _through_codec(hidden, claim.codec, prompt_len)
            judged_in = sent
    logits = reference.logits(hidden[:, len(claim.prompt_ids) - 1 :], claim.hops[-1].dtype)
    output = check_output(logits, claim, tolerances[-1].logit_margin)
    distances = [check.distance for check in checks]
    culprit = attribute_culprit(distances, tolerances, output, params.amplification)
    if culprit is not None and unevidenced_boundary(claim, statuses, culprit):
        culprit = None  # a withholding sender or a lying receiver: the claim fails, unnamed
    bad = [k for k, status in enumerate(statuses) if status is EvidenceStatus.BAD]
    if culprit is None and bad:  # provable, unlike a statistical deviation: name the hop
        culprit = bad[0]
    return RouteVerdict(output, tuple(checks), culprit)


def _received_input(
    claim: RouteClaim, hop: int, statuses: Sequence[EvidenceStatus]
) -> torch.Tensor | None:
    """The states hop `hop` received, when it handed over its frames and they are proven by
    its sender's VALID late signature (`frames.received_states`); else None (judged on the
    reference's recomputation of its input, as before)."""
    frames = claim.hops[hop].received_frames
    evidence = claim.hops[hop].received
    if hop == 0 or not frames or evidence is None or statuses[hop] is not EvidenceStatus.VALID:
        return None
    context = ChainContext(claim.job_id or 0, claim.route_index, sender_hop=hop - 1)
    try:
        return received_states(
            frames, evidence, context, codec=claim.codec or "fp32", positions=len(claim.sequence)
        )
    except FingerprintError:
        return None  # frames that do not match their signed chain: unusable, judged as before


def _check_sent(
    check: HopCheck, received: torch.Tensor, sent: torch.Tensor, tolerance: Tolerance
) -> HopCheck:
    """Hop k's check, widened by the exact distance between what hop k+1 proved it received
    and what an honest hop k would have sent from its own input (`state_distances`): a
    perturbation no fingerprint sees (orthogonal to every probe, or in channels a sketch
    drops) still shows here, and is hop k's."""
    try:
        exact = float(state_distances(received, sent).max())
    except FingerprintError:
        exact = math.inf
    if exact <= check.distance:
        return replace(check, sent_distance=exact)
    over = torch.nonzero(state_distances(received, sent) > tolerance.fingerprint).flatten()
    first_bad = int(over[0]) if over.numel() else check.first_bad_chunk
    ok = check.ok and exact <= tolerance.fingerprint
    return replace(check, ok=ok, first_bad_chunk=first_bad, distance=exact, sent_distance=exact)


def _check_hop(
    index: int,
    claimed: bytes | Fingerprint,
    hidden: torch.Tensor,
    seed: int,
    tolerance: Tolerance,
    *,
    source: str = "own",
) -> HopCheck:
    recomputed = fingerprint_bytes(hidden, probe_seed=seed)
    try:
        ok, first_bad, distance = compare_fingerprints(claimed, recomputed, tolerance.fingerprint)
    except FingerprintError:
        ok, first_bad, distance = False, 0, math.inf
    return HopCheck(index, ok, first_bad, distance, tolerance.fingerprint, source=source)


@torch.inference_mode()
def verify_output(
    reference: ReferenceModel,
    claim: RouteClaim,
    *,
    dtype: torch.dtype = torch.float32,
    params: VerifierParams | None = None,
) -> OutputVerdict:
    """Teacher-forced check of the claimed output alone (no fingerprints), the whole model in
    `dtype`: one forward pass over prompt + tokens[:-1]."""
    params = params or VerifierParams()
    structure = structure_failure(claim, reference.vocab_size)
    if structure is not None:
        return structure
    hidden = reference.run_layers(
        reference.embed(claim.sequence, dtype), 0, reference.num_layers, dtype
    )
    logits = reference.logits(hidden[:, len(claim.prompt_ids) - 1 :], dtype)
    return check_output(logits, claim, params.for_dtype(dtype).logit_margin)
