"""The sampled-token gap at the top-k boundary: an honest bf16 replica whose seeded sampler saw
a competitor just outside its top-k (the verifier's logits put it just inside) must pass, and a
token the sampler would not choose must still fail.

Nothing here depends on which CPU kernels torch picks: bf16 trajectories differ between AVX2,
AVX-512 and ARM kernels, so the boundary case itself is built from logit rows (exact in any
kernel set), and the real-model cases take the claim this machine generates and choose the
tampered position from this machine's own logits. test_cross_kernel.py checks honest claims made
under other kernel sets."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from inference_worker.pipeline.generate import Sampling
from inference_worker.pipeline.shard import load_shard
from inference_worker.verify.evidence import RouteClaim, generate_claim
from inference_worker.verify.fingerprint import derive_probe_seed
from inference_worker.verify.output_check import _replay_sampler, _sampled_gap, token_gaps
from inference_worker.verify.verifier import ReferenceModel, VerifierParams, verify_route

# The shape of job 48 of bench_onchain_adversaries.py's "honest: fp32 vs bf16 replicas" row.
JOB48_SPANS = ((0, 1), (1, 3), (3, 5))
JOB48_PROMPT = (50, 75, 13, 78, 1, 53)
JOB48_SAMPLING = Sampling(seed=16004629418977992164, temperature=1.0, top_k=20)
BF16_MARGIN = VerifierParams().half_precision.logit_margin


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def job48(tiny_models) -> tuple[ReferenceModel, RouteClaim]:
    model_dir = tiny_models["llama"]
    shards = [load_shard(model_dir, a, b, dtype=torch.bfloat16) for a, b in JOB48_SPANS]
    claim = generate_claim(
        shards, JOB48_PROMPT, max_new_tokens=32, probe_seed=derive_probe_seed(48),
        eos_ids=set(), sampling=JOB48_SAMPLING,
    )  # fmt: skip
    return ReferenceModel.load(model_dir, (torch.bfloat16,)), claim


def with_token(claim: RouteClaim, position: int, token: int) -> RouteClaim:
    tokens = list(claim.tokens)
    tokens[position] = token
    return replace(claim, tokens=tuple(tokens))


def verifier_logits(reference: ReferenceModel, claim: RouteClaim) -> torch.Tensor:
    """The verifier's bf16 logits (len(tokens), vocab), row i predicting tokens[i]."""
    hidden = reference.embed(claim.sequence, torch.bfloat16)
    hidden = reference.run_layers(hidden, 0, reference.num_layers, torch.bfloat16)
    return reference.logits(hidden[:, len(claim.prompt_ids) - 1 :], torch.bfloat16)


def test_an_honest_bf16_sampled_replica_passes(job48):
    reference, claim = job48
    verdict = verify_route(reference, claim)
    assert verdict.ok and verdict.culprit_hop is None
    assert verdict.output.max_gap <= BF16_MARGIN


def test_a_competitor_just_inside_the_verifiers_top_k_costs_only_its_top_k_lead():
    """Job 48's case, built from logits: on the route, competitor 3 was 21st (outside the top 20)
    and the sampler chose token 0; the verifier's logits put 3 just inside (3.1094 vs the 21st's
    2.9219) with a large draw, so its replay picks 3. Charging token 0 with 3's whole score lead
    would fail an honest route; 3 needs only 0.1875 logits to leave the top 20."""
    sampling = Sampling(seed=0, temperature=1.0, top_k=20)
    row = torch.linspace(6.0, 3.2, 19)  # tokens 0..18: the 19 clear leaders
    row = torch.cat([row[:3], torch.tensor([3.1094]), row[3:], torch.tensor([2.9219, 1.0])])
    log_q = torch.zeros(row.numel())
    log_q[3] = -6.0  # a large Exp(1) draw for the competitor: score 9.1094 against 6.0
    lead = float(row[3] - log_q[3] - (row[0] - log_q[0]))
    assert lead > 2 * BF16_MARGIN  # the old rule would have failed the honest token
    assert _sampled_gap(row, log_q, 0, sampling) == pytest.approx(3.1094 - 2.9219, abs=1e-4)


def test_a_sampled_token_the_sampler_would_not_choose_fails(job48):
    """Tamper where this machine's own logits make it provable: at the first position with a
    token far outside the margin, inside the top-k (low score) and outside it."""
    reference, claim = job48
    logits = verifier_logits(reference, claim).float()
    for position in range(4, len(claim.tokens)):
        row = logits[position]
        ranked = torch.argsort(row, descending=True).tolist()
        inside = [t for t in ranked[: JOB48_SAMPLING.top_k] if t != claim.tokens[position]]
        candidates = [max(inside, key=lambda t: _gap_at(logits, claim, position, t)), ranked[-1]]
        if all(_gap_at(logits, claim, position, t) > 2 * BF16_MARGIN for t in candidates):
            break
    else:
        pytest.fail("no position where both tampered tokens are provably outside the margin")
    for token in candidates:
        verdict = verify_route(reference, with_token(claim, position, token))
        assert not verdict.ok and verdict.output.reason == "outside_margin"
        assert verdict.output.first_bad_position == position
        assert verdict.output.max_gap > 2 * BF16_MARGIN


def _gap_at(logits: torch.Tensor, claim: RouteClaim, position: int, token: int) -> float:
    """Token's gap at `position` on these logits, replaying the sampler from the start."""
    tokens = list(claim.tokens[:position]) + [token]
    return float(token_gaps(logits[: position + 1], tokens, claim.sampling)[-1])


def test_a_competitor_costs_the_cheaper_of_its_score_lead_and_its_top_k_lead():
    # token 0 is claimed; token 3 outscores it by 2 logits (a large draw, T = 1, k = 4)
    sampling = Sampling(seed=0, temperature=1.0, top_k=4)
    row = torch.tensor([5.0, 4.0, 3.5, 3.4, 3.3])  # (vocab,)
    log_q = torch.tensor([0.0, 2.0, 2.0, -3.6, 2.0])  # scores 5.0, 2.0, 1.5, 7.0, 1.3
    assert _sampled_gap(row, log_q, 0, sampling) == pytest.approx(0.1, abs=1e-6)  # 3.4 - 3.3
    row[3], log_q[3] = 4.5, -1.0  # deep inside the top 4 (1.2 ahead), scoring 5.5
    assert _sampled_gap(row, log_q, 0, sampling) == pytest.approx(0.5, abs=1e-6)  # its score lead
    # token 4 (5th): token 0 leaves the top 4 only when all four others pass it: 5.0 - 3.3
    assert _sampled_gap(row, log_q, 4, sampling) == pytest.approx(1.7, abs=1e-6)


def test_the_replayed_choice_has_no_gap(job48):
    reference, claim = job48
    logits = torch.randn(4, reference.vocab_size, generator=torch.Generator().manual_seed(5))
    generator = torch.Generator().manual_seed(JOB48_SAMPLING.seed)
    for row in logits:
        choice, log_q = _replay_sampler(row, JOB48_SAMPLING, generator)
        assert _sampled_gap(row, log_q, choice, JOB48_SAMPLING) == 0.0
