"""The teacher-forced output check: is each claimed token the decoder's choice on recomputed logits?

Greedy tokens must be within a logit margin of the arg-max; sampled tokens replay the job's
seeded sampler on the recomputed logits (`token_gaps`; the verifier module's docstring has the
rule). Structural checks (length, vocabulary, stop tokens) need no logits (`structure_failure`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from inference_worker.pipeline.generate import Sampling
from inference_worker.verify.evidence import RouteClaim


class VerifierError(ValueError):
    """The claim cannot be checked: spans that do not cover the model, a dtype the validator
    holds no copy in, or a sampler that cannot be replayed."""


@dataclass(frozen=True)
class OutputVerdict:
    """Outcome of the teacher-forced check of one claimed output."""

    ok: bool
    first_bad_position: int | None  # index into the claimed tokens; None when ok
    reason: str  # "ok", "empty", "too_long", "token_out_of_range", "continued_after_stop",
    # "stopped_early", "outside_margin"
    max_gap: float  # largest gap over the checked positions (logits; 0 when all are arg-max)


def structure_failure(claim: RouteClaim, vocab_size: int) -> OutputVerdict | None:
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
    from inference_worker.pipeline.generate import select_token

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
    failure = structure_failure(claim, int(logits.shape[-1]))
    if failure is not None:
        return failure
    gaps = token_gaps(logits, claim.tokens, claim.sampling)
    bad = torch.nonzero(gaps > margin).flatten()
    max_gap = float(gaps.max())
    if bad.numel():
        return OutputVerdict(False, int(bad[0]), "outside_margin", max_gap)
    return OutputVerdict(True, None, "ok", max_gap)
