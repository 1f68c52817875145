"""A validator's check of a route's claim: teacher-forced re-scoring and per-hop fingerprints.

`verify_route` recomputes the route in ONE forward pass over ``prompt + claimed tokens[:-1]``,
hop by hop, each hop's layers in that hop's declared dtype (a bf16 worker is recomputed in
bf16: cross-precision differences are ~10x larger than same-precision ones, see
VERIFICATION.md), hidden states passing through the job's wire codec at each boundary as they
did in the route:

1. **Per-hop fingerprints**, all with the route's LATE probe seed (`late_seed`: from the
   job's probe seed and the claimed output's hash, so no hop could aim a perturbation at
   these probes). Hop k is recomputed from its input (the recomputed output of hop k-1,
   which matched its own claim) and the recomputed output's fingerprint is compared with hop
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
   k is never named on a deviation that starts at its input (`_unevidenced_boundary`): an
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

Tolerances (`VerifierParams`) are per precision class and were chosen from the measurements in
VERIFICATION.md (bench/measure_verification.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from inference_worker.codec import decode, encode
from inference_worker.commits import compute_output_hash
from inference_worker.evidence import RouteClaim
from inference_worker.families import SpanParts
from inference_worker.fingerprint import (
    Fingerprint,
    FingerprintError,
    compare_fingerprints,
    derive_late_probe_seed,
    fingerprint_bytes,
)
from inference_worker.frames import (
    ChainContext,
    EvidenceStatus,
    expected_address,
    verify_late_evidence,
)
from inference_worker.generate import Sampling
from inference_worker.shard import Shard, load_shard

HALF_PRECISION = (torch.bfloat16, torch.float16)


class VerifierError(ValueError):
    """The claim cannot be checked: spans that do not cover the model, a dtype the validator
    holds no copy in, or a sampler that cannot be replayed."""


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


@dataclass(frozen=True)
class OutputVerdict:
    """Outcome of the teacher-forced check of one claimed output."""

    ok: bool
    first_bad_position: int | None  # index into the claimed tokens; None when ok
    reason: str  # "ok", "empty", "too_long", "token_out_of_range", "continued_after_stop",
    # "stopped_early", "outside_margin"
    max_gap: float  # largest gap over the checked positions (logits; 0 when all are arg-max)


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


# --- the teacher-forced output check ----------------------------------------------------------


def _structure_failure(claim: RouteClaim, vocab_size: int) -> OutputVerdict | None:
    """Checks that need no logits: length, vocabulary, stop tokens."""
    tokens = claim.tokens
    if not tokens:
        return OutputVerdict(False, 0, "empty", math.inf)
    if len(tokens) > claim.max_new_tokens:
        return OutputVerdict(False, claim.max_new_tokens, "too_long", math.inf)
    for i, token in enumerate(tokens):
        if not 0 <= token < vocab_size:
            return OutputVerdict(False, i, "token_out_of_range", math.inf)
    for i, token in enumerate(tokens[:-1]):
        if token in claim.eos_ids:
            return OutputVerdict(False, i + 1, "continued_after_stop", math.inf)
    if len(tokens) < claim.max_new_tokens and tokens[-1] not in claim.eos_ids:
        return OutputVerdict(False, len(tokens), "stopped_early", math.inf)
    return None


def token_gaps(
    logits: torch.Tensor, tokens: Sequence[int], sampling: Sampling | None
) -> torch.Tensor:
    """Per claimed token, its gap in logits (0 when it is exactly the decoder's choice): how far
    apart, in logit units, the route's logits and `logits` must at least be for the claimed
    token to be the decoder's choice on the route's.

    logits: (len(tokens), vocab) float32, row i predicting tokens[i]. Sampled tokens replay the
    seeded generator with the same Exp(1) draws (`_sampled_gap`, module docstring).
    """
    claimed = torch.tensor(list(tokens), dtype=torch.long)
    if sampling is None:
        return logits.max(dim=-1).values - logits.gather(1, claimed.unsqueeze(1))[:, 0]
    generator = torch.Generator().manual_seed(sampling.seed)
    gaps = []
    for row, token in zip(logits, tokens, strict=True):
        choice, log_q = _replay_sampler(row, sampling, generator)
        gaps.append(0.0 if token == choice else _sampled_gap(row, log_q, token, sampling))
    return torch.tensor(gaps, dtype=torch.float64)


def _sampled_gap(row: torch.Tensor, log_q: torch.Tensor, token: int, sampling: Sampling) -> float:
    """How far one logit must at least shift against another (logit units) for `token` (c) to
    be the sampler's choice on `row` (vocab,) with the draws `log_q` (vocab,): c must be inside
    the top-k, and every token i must either score no higher (c gains ``T * (score_i -
    score_c)`` on i) or fall out of the top-k (i loses ``logit_i - logit_(k+1)`` on the (k+1)-th
    largest), whichever is less; the largest of these, each token taken alone. Without the
    second way out, a competitor that only a precision difference put inside the top-k would
    charge an honest token with its whole score lead. Never above the replayed choice's score
    lead; equal to it without top-k."""
    scores = row / sampling.temperature - log_q  # (vocab,)
    need = (sampling.temperature * (scores - scores[token])).clamp(min=0)  # (vocab,) logits
    inside = 0.0
    if 0 < sampling.top_k < row.numel():
        top = torch.topk(row, sampling.top_k + 1).values  # (k + 1,)
        need = torch.minimum(need, (row - top[-1]).clamp(min=0))
        inside = float(top[-2] - row[token])  # below the k-th largest by this much
    return max(float(need.max()), inside, 0.0)


def _replay_sampler(
    row: torch.Tensor, sampling: Sampling, generator: torch.Generator
) -> tuple[int, torch.Tensor]:
    """The sampler's choice on `row` and its log Exp(1) draws, advancing `generator` exactly as
    `select_token` advances the worker's: the same multinomial, on the same probabilities."""
    from inference_worker.generate import select_token

    state = generator.get_state()
    choice = select_token(row, sampling, generator)
    replay = torch.Generator()
    replay.set_state(state)
    q = torch.empty(row.numel(), dtype=torch.float32).exponential_(1, generator=replay)
    scaled = row.float() / sampling.temperature
    if 0 < sampling.top_k < scaled.numel():
        kth = torch.topk(scaled, sampling.top_k).values[-1]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    if int(torch.argmax(torch.softmax(scaled, dim=-1) / q)) != choice:
        raise VerifierError("torch.multinomial no longer samples as argmax(p / Exp(1))")
    return choice, torch.log(q)


def check_output(logits: torch.Tensor, claim: RouteClaim, margin: float) -> OutputVerdict:
    """Teacher-forced check of `claim.tokens` against recomputed logits (len(tokens), vocab)."""
    failure = _structure_failure(claim, int(logits.shape[-1]))
    if failure is not None:
        return failure
    gaps = token_gaps(logits, claim.tokens, claim.sampling)
    bad = torch.nonzero(gaps > margin).flatten()
    max_gap = float(gaps.max())
    if bad.numel():
        return OutputVerdict(False, int(bad[0]), "outside_margin", max_gap)
    return OutputVerdict(True, None, "ok", max_gap)


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
    structure = _structure_failure(claim, reference.vocab_size)
    if structure is not None:  # no well-formed sequence to recompute: the last hop chose it
        return RouteVerdict(structure, (), len(claim.hops) - 1)
    tolerances = route_tolerances(params, [hop.dtype for hop in claim.hops])
    seed = late_seed(claim)
    statuses = evidence_statuses(claim)
    hidden = reference.embed(claim.sequence, claim.hops[0].dtype)  # (1, seq, hidden)
    checks = []
    last = len(claim.hops) - 1
    for index, hop in enumerate(claim.hops):
        hidden = reference.run_layers(hidden, hop.start, hop.end, hop.dtype)  # hop's output
        signed = _signed_rows(claim, index + 1, seed) if index < last else None
        if index < last:  # what hop index + 1 decoded: the input of the next iteration
            sent = _through_codec(hidden, claim.codec, len(claim.prompt_ids))
        if signed is not None and statuses[index + 1] is EvidenceStatus.VALID:
            check = _check_hop(index, signed, sent, seed, tolerances[index], source="signed")
        else:
            check = _check_hop(index, hop.fingerprint, hidden, seed, tolerances[index])
        checks.append(replace(check, evidence=statuses[index]))
        if index < last:
            hidden = sent
    logits = reference.logits(hidden[:, len(claim.prompt_ids) - 1 :], claim.hops[-1].dtype)
    output = check_output(logits, claim, tolerances[-1].logit_margin)
    distances = [check.distance for check in checks]
    culprit = attribute_culprit(distances, tolerances, output, params.amplification)
    if culprit is not None and _unevidenced_boundary(claim, statuses, culprit):
        culprit = None  # a withholding sender or a lying receiver: the claim fails, unnamed
    bad = [k for k, status in enumerate(statuses) if status is EvidenceStatus.BAD]
    if culprit is None and bad:  # provable, unlike a statistical deviation: name the hop
        culprit = bad[0]
    return RouteVerdict(output, tuple(checks), culprit)


def late_seed(claim: RouteClaim) -> int:
    """The route's late probe seed: from the job's probe seed and the claimed output's hash."""
    return derive_late_probe_seed(claim.probe_seed, compute_output_hash(claim.tokens))


def _unevidenced_boundary(claim: RouteClaim, statuses: Sequence[EvidenceStatus], hop: int) -> bool:
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
                output_hash=compute_output_hash(claim.tokens),
            )
            out.append(status)
    return out


def _signed_rows(claim: RouteClaim, receiver: int, seed: int) -> Fingerprint | bytes | None:
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


def route_tolerances(params: VerifierParams, dtypes: Sequence[torch.dtype]) -> list[Tolerance]:
    """Each hop's tolerance: the loosest class among it and every hop before it. A hop's
    recomputation starts from the recomputed outputs of the hops before, so their precision's
    differences reach it too (an fp32 hop after a bf16 hop inherits bf16-sized differences)."""
    half = [dtype in HALF_PRECISION for dtype in dtypes]
    return [
        params.for_dtype(torch.bfloat16 if any(half[: k + 1]) else torch.float32)
        for k in range(len(dtypes))
    ]


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
    structure = _structure_failure(claim, reference.vocab_size)
    if structure is not None:
        return structure
    hidden = reference.run_layers(
        reference.embed(claim.sequence, dtype), 0, reference.num_layers, dtype
    )
    logits = reference.logits(hidden[:, len(claim.prompt_ids) - 1 :], dtype)
    return check_output(logits, claim, params.for_dtype(dtype).logit_margin)
