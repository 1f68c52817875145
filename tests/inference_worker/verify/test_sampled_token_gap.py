"""The sampled-token gap at the top-k boundary: an honest bf16 replica whose seeded sampler saw
a competitor just outside its top-k (the verifier's logits put it just inside) must pass, and a
token the sampler would not choose must still fail."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from inference_worker.pipeline.generate import Sampling
from inference_worker.pipeline.shard import load_shard
from inference_worker.verify.evidence import RouteClaim, generate_claim
from inference_worker.verify.fingerprint import derive_probe_seed
from inference_worker.verify.output_check import _replay_sampler, _sampled_gap
from inference_worker.verify.verifier import ReferenceModel, VerifierParams, verify_route

# Job 48 of bench_onchain_adversaries.py's "honest: fp32 vs bf16 replicas" row (bf16 route).
JOB48_SPANS = ((0, 1), (1, 3), (3, 5))
JOB48_PROMPT = (50, 75, 13, 78, 1, 53)
JOB48_SAMPLING = Sampling(seed=16004629418977992164, temperature=1.0, top_k=20)
JOB48_TOKENS = (30, 30, 74, 78, 36, 62, 15, 59, 45, 34, 73, 89, 45, 12, 76, 80,
                49, 88, 24, 78, 65, 58, 13, 92, 39, 24, 71, 5, 71, 5, 58, 37)  # fmt: skip
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
    assert claim.tokens == JOB48_TOKENS  # the bench's case, bit for bit
    return ReferenceModel.load(model_dir, (torch.bfloat16,)), claim


def with_token(claim: RouteClaim, position: int, token: int) -> RouteClaim:
    tokens = list(claim.tokens)
    tokens[position] = token
    return replace(claim, tokens=tuple(tokens))


def test_bf16_replica_with_a_competitor_at_the_top_k_boundary_passes(job48):
    reference, claim = job48
    verdict = verify_route(reference, claim)
    assert verdict.ok and verdict.culprit_hop is None
    # at position 25 the replay on the verifier's logits picks 81 (rank 18 there, 22nd on the
    # route's): 81 needs only 3.1094 - 2.9219 logits to leave the top 20, not its score lead
    assert verdict.output.max_gap == pytest.approx(0.1875)


@pytest.mark.parametrize("token", [66, 68], ids=["inside_top_k_low_score", "outside_top_k"])
def test_a_sampled_token_the_sampler_would_not_choose_fails(job48, token):
    reference, claim = job48
    verdict = verify_route(reference, with_token(claim, 25, token))
    assert not verdict.ok and verdict.output.reason == "outside_margin"
    assert verdict.output.first_bad_position == 25 and verdict.output.max_gap > 2 * BF16_MARGIN


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
