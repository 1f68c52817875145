"""A model's calibrated fingerprint tolerances (issue 14, "Catch cheaper compute"): int8 weights on
one hop of an fp32 route hide under the fp32 class defaults, not under the tolerance measured
for the tiny llama (bench/calibrate_tolerances.py; VERIFICATION.md, "Per-model tolerances")."""

from __future__ import annotations

import random

import pytest
import torch

from infera.inference.v1 import types_pb2 as inference_types
from infera.models.v1 import types_pb2 as models_types
from inference_worker.verify.adversary import ComputeAttack, ComputeMode, load_adversarial_shard
from inference_worker.verify.evidence import generate_claim
from inference_worker.verify.sidecar import model_params
from inference_worker.verify.tolerances import (
    QUANTUM_PPM,
    VerifierParams,
    calibrate_tolerance,
    with_model_tolerance,
)
from inference_worker.verify.verifier import ReferenceModel, verify_route

SPANS = ((0, 2), (2, 4), (4, 5))
TINY_FP32 = (10208, 5104)  # measured: 200 honest jobs, AVX-512 and AVX2, 1 and 2 threads


def _prompts() -> list[tuple[int, ...]]:
    """Prompts 1, 2 and 4 of a seeded draw: int8 on the last hop reads 0.013-0.017 there (the
    others of the draw 0.011-0.013, too near the calibrated 0.0102 for other CPUs)."""
    rng = random.Random(5)  # test data, not chain code
    drawn = [tuple(rng.randrange(1, 96) for _ in range(rng.randrange(8, 40))) for _ in range(5)]
    return [drawn[1], drawn[2], drawn[4]]


def test_calibration_margins_the_largest_honest_distance_and_floors_at_one_code_step():
    assert calibrate_tolerance([0.0, 0.0025515, 0.001], 2.0) == (10206, 5103)  # rounded up
    assert calibrate_tolerance([0.0, 0.0], 2.0) == (2 * QUANTUM_PPM, QUANTUM_PPM)
    with pytest.raises(ValueError):
        calibrate_tolerance([float("inf")], 2.0)


def test_a_model_tolerance_replaces_only_its_class_bounds():
    defaults = VerifierParams()
    tight = with_model_tolerance(defaults, torch.float32, *TINY_FP32)
    assert (tight.full_precision.fingerprint, tight.full_precision.noise) == (0.010208, 0.005104)
    assert tight.full_precision.logit_margin == defaults.full_precision.logit_margin
    assert tight.half_precision == defaults.half_precision
    with pytest.raises(ValueError):
        with_model_tolerance(defaults, torch.float32, 100, 200)  # noise above fingerprint


def test_the_sidecar_uses_the_job_class_tolerance_of_the_registration():
    model = models_types.Model(verifier_tolerances=[models_types.ClassTolerance(
        dtype="float32", fingerprint_ppm=TINY_FP32[0], noise_ppm=TINY_FP32[1])])  # fmt: skip
    fp32_job = inference_types.Job(precision="float32")
    assert model_params(model, fp32_job).full_precision.fingerprint == 0.010208
    bf16_job = inference_types.Job(precision="bfloat16")
    assert model_params(model, bf16_job) == VerifierParams()  # no bf16 tolerance: defaults
    assert model_params(None, fp32_job) == VerifierParams()


def _route(model_dir, attack_hop=None):
    return [
        load_adversarial_shard(model_dir, a, b, ComputeAttack(
            ComputeMode.INT8_WEIGHTS if k == attack_hop else ComputeMode.HONEST))
        for k, (a, b) in enumerate(SPANS)
    ]  # fmt: skip


def test_int8_weights_on_the_last_hop_are_named_under_the_calibrated_tolerance(tiny_models):
    """The one-layer last hop with int8 weights: under the class defaults these claims pass
    (distance 0.013-0.017, under the fp32 fingerprint bound 0.04; no token moves beyond the
    margin), the calibrated tolerance names the hop in every one, and honest claims pass."""
    torch.set_num_threads(1)
    model_dir = tiny_models["llama"]
    reference = ReferenceModel.load(model_dir, (torch.float32,))
    calibrated = with_model_tolerance(VerifierParams(), torch.float32, *TINY_FP32)
    cheat, honest = _route(model_dir, attack_hop=2), _route(model_dir)
    for seed, prompt in zip((1, 2, 4), _prompts(), strict=True):
        kw = {"max_new_tokens": 32, "probe_seed": 900 + seed}
        claim = generate_claim(cheat, prompt, **kw)
        assert verify_route(reference, claim).ok  # the class defaults: undetected
        assert verify_route(reference, claim, calibrated).culprit_hop == 2
        assert verify_route(reference, generate_claim(honest, prompt, **kw), calibrated).ok
