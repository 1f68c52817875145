"""Cheaper compute than declared (issue 14, item 5), small counts on the tiny llama: group-wise
int8 / int5 weights on every hop are caught on fp32 and bf16 routes, honest routes of the same
class are not; a greedy bf16 last hop steering near ties (gap < 0.6) passes, on fp32 it does
not. The real counts: bench/measure_weight_quantization.py and bench/measure_steering.py
(VERIFICATION.md, "Cheaper compute" and "What this does not catch")."""

from __future__ import annotations

import random

import pytest
import torch

from inference_worker.verify.adversary import (
    ComputeAttack,
    ComputeMode,
    load_adversarial_shard,
    quantize_groupwise,
)
from inference_worker.verify.evidence import generate_claim
from inference_worker.verify.fingerprint import derive_probe_seed
from inference_worker.verify.verifier import ReferenceModel, verify_route

SPANS = ((0, 2), (2, 4), (4, 5))
JOBS = 4


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def model_dir(tiny_models):
    return tiny_models["llama"]


@pytest.fixture(scope="module")
def reference(model_dir) -> ReferenceModel:
    return ReferenceModel.load(model_dir, (torch.float32, torch.bfloat16))


def prompts() -> list[tuple[int, ...]]:
    rng = random.Random(5)
    return [tuple(rng.randrange(96) for _ in range(rng.randint(2, 24))) for _ in range(JOBS)]


def failures(model_dir, reference, dtype, attacks) -> int:
    shards = [
        load_adversarial_shard(model_dir, a, b, attacks.get(i, ComputeAttack()), dtype=dtype)
        for i, (a, b) in enumerate(SPANS)
    ]
    failed = 0
    for index, prompt in enumerate(prompts()):
        claim = generate_claim(
            shards, prompt, max_new_tokens=16, probe_seed=derive_probe_seed(900 + index)
        )
        failed += not verify_route(reference, claim).ok
    return failed


def test_groupwise_quantization_keeps_one_scale_per_group():
    weight = torch.randn(3, 70, generator=torch.Generator().manual_seed(1))
    int8 = quantize_groupwise(weight, bits=8, group=32)
    int5 = quantize_groupwise(weight, bits=5, group=32)
    assert int8.shape == weight.shape and not torch.equal(int8, weight)
    assert (int5 - weight).abs().max() > (int8 - weight).abs().max()
    group = weight[0, :32]
    step = group.abs().max() / 127
    assert torch.allclose(int8[0, :32] / step, (int8[0, :32] / step).round(), atol=1e-4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("mode", [ComputeMode.INT8_WEIGHTS, ComputeMode.INT5_WEIGHTS])
def test_quantized_weights_on_every_hop_are_caught(model_dir, reference, dtype, mode, report_line):
    attacks = {k: ComputeAttack(mode) for k in range(len(SPANS))}
    caught = failures(model_dir, reference, dtype, attacks)
    report_line(f"tiny {dtype} {mode.value}: {caught} of {JOBS} jobs caught")
    # bf16 int8 on 16-token jobs: 3 of 4 here (19 of 20 at 64 tokens, measure_weight_quantization)
    assert caught >= (
        JOBS - 1 if (dtype, mode) == (torch.bfloat16, ComputeMode.INT8_WEIGHTS) else JOBS
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_honest_routes_of_each_class_pass(model_dir, reference, dtype):
    assert failures(model_dir, reference, dtype, {}) == 0


def test_a_steering_bf16_last_hop_passes_and_an_fp32_one_does_not(model_dir, reference):
    """The documented gap: bf16's logit margin (1.0) lets a last hop send the runner-up at
    every near tie under it; fp32's margin (0.05) does not."""
    steer = {2: ComputeAttack(ComputeMode.STEER, steer_gap=0.6)}
    for dtype, expected_failures in ((torch.bfloat16, 0), (torch.float32, JOBS)):
        shards = [
            load_adversarial_shard(model_dir, a, b, steer.get(i, ComputeAttack()), dtype=dtype)
            for i, (a, b) in enumerate(SPANS)
        ]
        honest = [load_adversarial_shard(model_dir, a, b, ComputeAttack(), dtype=dtype)
                  for a, b in SPANS]  # fmt: skip
        failed = changed = 0
        for index, prompt in enumerate(prompts()):
            seed = derive_probe_seed(900 + index)
            claim = generate_claim(shards, prompt, max_new_tokens=16, probe_seed=seed)
            plain = generate_claim(honest, prompt, max_new_tokens=16, probe_seed=seed)
            changed += claim.tokens != plain.tokens
            failed += not verify_route(reference, claim).ok
        assert changed == JOBS  # the tiny model has a near tie in every 16-token output
        assert failed == expected_failures, dtype
