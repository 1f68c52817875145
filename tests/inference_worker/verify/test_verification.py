"""Verification: fingerprints, teacher-forced re-scoring, per-hop attribution, adversaries.

Fast tests use the tiny seeded llama and gpt2 (3 hops); SmolLM2 tests are marked slow.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from inference_worker.pipeline.generate import Sampling
from inference_worker.pipeline.shard import load_shard
from inference_worker.verify.adversary import (
    AdversarialShard,
    AdversaryConfig,
    ComputeAttack,
    ComputeMode,
    ProtocolAttack,
    ProtocolMode,
    collusion_tokens,
    load_adversarial_shard,
)
from inference_worker.verify.evidence import RouteClaim, generate_claim
from inference_worker.verify.fingerprint import (
    CHUNK,
    HEADER,
    FingerprintBuilder,
    FingerprintError,
    compare_fingerprints,
    compute_fingerprint,
    decode_fingerprint,
    derive_probe_seed,
    fingerprint_bytes,
    probe_directions,
)
from inference_worker.verify.verifier import (
    OutputVerdict,
    ReferenceModel,
    Tolerance,
    VerifierError,
    VerifierParams,
    attribute_culprit,
    check_output,
    route_tolerances,
    verify_output,
    verify_route,
)
from tests.inference_worker.conftest import TINY_SEED

SPANS = {"llama": ((0, 2), (2, 4), (4, 5)), "gpt2": ((0, 1), (1, 3), (3, 4))}
PROMPTS = ((1, 5, 9, 22, 7, 3), (4,), tuple(range(10, 50)))
SAMPLED = Sampling(seed=11, temperature=0.8, top_k=20)
SEED = derive_probe_seed(42)
PARAMS = VerifierParams()


def route(model_dir: Path, family: str, *, dtype=torch.float32, attacks=None) -> list:
    attacks = attacks or {}
    return [
        load_adversarial_shard(model_dir, a, b, attacks.get(i, ComputeAttack()), dtype=dtype)
        for i, (a, b) in enumerate(SPANS[family])
    ]


def claim_of(shards, prompt=PROMPTS[0], sampling=None, n=64, **kw) -> RouteClaim:
    return generate_claim(
        shards, prompt, max_new_tokens=n, probe_seed=SEED, sampling=sampling, **kw
    )


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread unless a test says otherwise: on a busy 2-core machine two threads
    spin on each other and make these tiny models ~8x slower."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def impostor_dir(tmp_path_factory) -> Path:
    from inference_worker.models import make_tiny_model

    return make_tiny_model("llama", tmp_path_factory.mktemp("impostor"), seed=TINY_SEED + 1)


@pytest.fixture(scope="module")
def references(tiny_models) -> dict[str, ReferenceModel]:
    dtypes = (torch.float32, torch.bfloat16)
    return {f: ReferenceModel.load(tiny_models[f], dtypes) for f in ("llama", "gpt2")}


# --- fingerprints ---------------------------------------------------------------------------


def test_fingerprint_encoding_round_trips_within_300_bytes_per_32_tokens():
    hidden = torch.randn(70, 64, generator=torch.Generator().manual_seed(0))
    data = fingerprint_bytes(hidden, probe_seed=SEED)
    assert decode_fingerprint(data).to_bytes() == data
    assert len(data) == HEADER.size + 70 * 8  # 2 bytes of RMS + 6 probe bytes per position
    assert len(fingerprint_bytes(hidden[:CHUNK], probe_seed=SEED)) <= 300


def test_fingerprint_builder_equals_one_pass_and_ignores_the_dtype_cast():
    hidden = torch.randn(1, 40, 64, generator=torch.Generator().manual_seed(1)).bfloat16()
    builder = FingerprintBuilder(probe_seed=SEED)
    for part in (hidden[:, :37], hidden[:, 37:38], hidden[:, 38:]):
        builder.add(part)
    whole = fingerprint_bytes(hidden.float(), probe_seed=SEED)
    assert builder.finish().to_bytes() == whole


def test_probe_directions_follow_the_sha256_spec():
    probes = probe_directions(5, 8, 2)  # (hidden 8, 2 probes): 16 sign bits
    digest = hashlib.sha256(b"infera.probes.v1\x00" + struct.pack(">QII", 5, 8, 0)).digest()
    bits = [(digest[i // 8] >> (7 - i % 8)) & 1 for i in range(16)]
    expected = torch.tensor(bits, dtype=torch.float32).view(2, 8).T * 2 - 1
    assert torch.equal(torch.sign(probes), expected)
    assert torch.allclose(probes.abs(), torch.full((8, 2), 8**-0.5))


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d[:-1],  # truncated
        lambda d: b"XXXX" + d[4:],  # magic
        lambda d: d[: HEADER.size + 10] + b"\x80" + d[HEADER.size + 11 :],  # probe code -128
        lambda d: d[:5] + b"\x00" + d[6:],  # zero probes
    ],
)
def test_decode_fingerprint_rejects_malformed_bytes(corrupt):
    data = fingerprint_bytes(torch.randn(5, 16), probe_seed=SEED)
    with pytest.raises(FingerprintError):
        decode_fingerprint(corrupt(data))


def test_compare_fingerprints_names_the_first_perturbed_chunk():
    hidden = torch.randn(100, 64, generator=torch.Generator().manual_seed(2))
    perturbed = hidden.clone()
    perturbed[40:50] += 0.3 * torch.randn(10, 64, generator=torch.Generator().manual_seed(3))
    same = compare_fingerprints(
        fingerprint_bytes(hidden, probe_seed=SEED), fingerprint_bytes(hidden, probe_seed=SEED), 0.0
    )
    assert same == (True, None, 0.0)
    ok, first_bad, distance = compare_fingerprints(
        fingerprint_bytes(perturbed, probe_seed=SEED),
        fingerprint_bytes(hidden, probe_seed=SEED),
        0.03,
    )
    assert not ok and first_bad == 1 and distance > 0.1


def test_compare_fingerprints_measures_a_scale_as_its_relative_size():
    hidden = torch.randn(64, 64, generator=torch.Generator().manual_seed(4))
    a, b = (
        compute_fingerprint(hidden, probe_seed=SEED),
        compute_fingerprint(1.1 * hidden, probe_seed=SEED),
    )
    ok, first_bad, distance = compare_fingerprints(a, b, 0.05)
    assert not ok and first_bad == 0 and distance == pytest.approx(0.0953, abs=0.003)  # ln 1.1


def test_compare_fingerprints_refuses_other_seeds_and_lengths():
    hidden = torch.randn(40, 64)
    base = fingerprint_bytes(hidden, probe_seed=SEED)
    assert (
        compare_fingerprints(base, fingerprint_bytes(hidden, probe_seed=SEED + 1), 1.0)[0] is False
    )
    assert (
        compare_fingerprints(base, fingerprint_bytes(hidden[:39], probe_seed=SEED), 1.0)[0] is False
    )


# --- teacher-forced re-scoring --------------------------------------------------------------


def synthetic_claim(tokens, sampling=None, max_new=None, eos=frozenset()) -> RouteClaim:
    return RouteClaim((1,), tuple(tokens), (), max_new or len(tokens), frozenset(eos), sampling)


def test_greedy_token_within_margin_passes_and_beyond_fails():
    logits = torch.tensor([[2.0, 1.97, 0.0], [0.0, 3.0, 2.0]])
    assert check_output(logits, synthetic_claim([1, 1]), margin=0.05).ok  # near-tie: 0.03
    verdict = check_output(logits, synthetic_claim([0, 2]), margin=0.05)
    assert not verdict.ok and verdict.first_bad_position == 1 and verdict.max_gap == 1.0


@pytest.mark.parametrize(
    ("tokens", "max_new", "eos", "reason", "position"),
    [
        ([], 4, (), "empty", 0),
        ([1, 1, 1], 2, (), "too_long", 2),
        ([1, 5], 2, (), "token_out_of_range", 1),
        ([1, 2, 1], 3, (2,), "continued_after_stop", 2),
        ([1, 1], 3, (2,), "stopped_early", 2),
    ],
)
def test_output_check_rejects_malformed_outputs(tokens, max_new, eos, reason, position):
    logits = torch.zeros(max(len(tokens), 1), 3)
    verdict = check_output(logits, synthetic_claim(tokens, max_new=max_new, eos=eos), margin=1.0)
    assert (verdict.ok, verdict.reason, verdict.first_bad_position) == (False, reason, position)


@pytest.mark.parametrize("family", ["llama", "gpt2"])
@pytest.mark.parametrize(
    "sampling", [None, SAMPLED, Sampling(seed=3)], ids=["greedy", "topk", "full"]
)
def test_honest_route_passes_with_exact_sampler_replay(tiny_models, references, family, sampling):
    shards = route(tiny_models[family], family)
    for prompt in PROMPTS[:2]:
        claim = claim_of(shards, prompt, sampling, n=40)
        verdict = verify_route(references[family], claim)
        assert verdict.ok and verdict.culprit_hop is None
        assert verdict.output.max_gap == 0.0  # the replayed sampler picks every claimed token
        assert all(h.distance <= PARAMS.full_precision.noise for h in verdict.hops)
        assert verify_output(references[family], claim).ok


@pytest.mark.parametrize("sampling", [None, SAMPLED], ids=["greedy", "sampled"])
def test_a_replaced_token_fails_at_its_position(tiny_models, references, sampling):
    claim = claim_of(route(tiny_models["llama"], "llama"), sampling=sampling)
    verdict = None
    for wrong in range(96):  # the first replacement far outside the margin
        tokens = list(claim.tokens)
        tokens[20] = wrong
        verdict = verify_output(references["llama"], replace(claim, tokens=tuple(tokens)))
        if not verdict.ok:
            break
    assert verdict is not None and not verdict.ok
    assert verdict.first_bad_position == 20 and verdict.reason == "outside_margin"


def test_colluders_shared_output_fails_teacher_forcing(tiny_models, references):
    claim = claim_of(route(tiny_models["llama"], "llama"))
    lie = collusion_tokens(list(claim.tokens), seed=9, vocab_size=96, from_position=30)
    assert lie[:30] == list(claim.tokens[:30]) and all(
        a != b for a, b in zip(lie[30:], claim.tokens[30:], strict=True)
    )
    verdict = verify_output(references["llama"], replace(claim, tokens=tuple(lie)))
    assert not verdict.ok and verdict.first_bad_position >= 30


# --- per-hop attribution --------------------------------------------------------------------

ATTACKS = {
    "skip_layer": ComputeAttack(ComputeMode.SKIP_LAYER),
    "scale": ComputeAttack(ComputeMode.SCALE, scale=1.1),
    "noise": ComputeAttack(ComputeMode.NOISE, noise_std=0.05, seed=5),
}


@pytest.mark.parametrize("guilty", [0, 1, 2])
@pytest.mark.parametrize("mode", [*ATTACKS, "wrong_model"])
def test_each_cheat_is_detected_and_the_guilty_hop_named(
    tiny_models, references, impostor_dir, mode, guilty
):
    attack = ATTACKS.get(mode) or ComputeAttack(
        ComputeMode.WRONG_MODEL, impostor_dir=str(impostor_dir)
    )
    shards = route(tiny_models["llama"], "llama", attacks={guilty: attack})
    for sampling in (None, SAMPLED):
        verdict = verify_route(references["llama"], claim_of(shards, sampling=sampling))
        assert not verdict.ok and verdict.culprit_hop == guilty
        assert all(h.ok for h in verdict.hops[:guilty]) and not verdict.hops[guilty].ok


@pytest.mark.parametrize("mode", ["skip_layer", "noise"])
def test_gpt2_cheat_is_detected_at_the_middle_hop(tiny_models, references, mode):
    shards = route(tiny_models["gpt2"], "gpt2", attacks={1: ATTACKS[mode]})
    verdict = verify_route(references["gpt2"], claim_of(shards))
    assert not verdict.ok and verdict.culprit_hop == 1


def test_late_perturbation_is_found_in_its_chunk(tiny_models, references):
    attack = ComputeAttack(ComputeMode.NOISE, noise_std=0.2, seed=1, from_position=40)
    shards = route(tiny_models["llama"], "llama", attacks={1: attack})
    verdict = verify_route(references["llama"], claim_of(shards, PROMPTS[0]))
    assert verdict.culprit_hop == 1 and verdict.hops[1].first_bad_chunk == 1  # positions 32..63


TOL = [Tolerance(logit_margin=0.05, fingerprint=0.04, noise=0.015, blame_margin=1.0)] * 3
FAILED = OutputVerdict(False, 3, "outside_margin", 0.3)
PASSED = OutputVerdict(True, None, "ok", 0.0)


@pytest.mark.parametrize(
    ("distances", "output", "culprit"),
    [
        ([0.0, 0.5, 0.6], FAILED, 1),  # a clean hop 0: hop 1's jump is its own
        ([0.005, 0.05, 0.06], PASSED, 1),  # within noise before, beyond amplification after
        ([0.03, 0.07, 0.08], FAILED, 0),  # under the tolerance, amplified past it: hop 0
        ([0.012, 0.045, 0.05], FAILED, None),  # explained by a hop within noise: nobody
        ([0.0, 0.03, 0.0], FAILED, 1),  # no deviation, failed output: first hop above noise
        ([0.0, 0.0, 0.0], FAILED, None),  # a near-tie gap could come from a hidden cheat
        ([0.0, 0.0, 0.0], replace(FAILED, max_gap=4.0), 2),  # the last hop chose a bad token
        ([0.0, 0.0, 0.0], PASSED, None),
    ],
)
def test_attribution_names_a_hop_only_when_the_evidence_singles_it_out(distances, output, culprit):
    assert attribute_culprit(distances, TOL, output, amplification=3.0) == culprit


def test_a_hop_after_a_half_precision_hop_gets_the_half_precision_tolerance():
    tolerances = route_tolerances(PARAMS, [torch.float32, torch.bfloat16, torch.float32])
    assert tolerances == [PARAMS.full_precision, PARAMS.half_precision, PARAMS.half_precision]


def test_a_malformed_fingerprint_is_a_deviation(tiny_models, references):
    claim = claim_of(route(tiny_models["llama"], "llama"))
    hops = list(claim.hops)
    hops[1] = replace(hops[1], fingerprint=b"garbage")
    verdict = verify_route(references["llama"], replace(claim, hops=tuple(hops)))
    assert verdict.culprit_hop == 1 and verdict.hops[1].distance == float("inf")


def test_hops_that_do_not_cover_the_model_are_refused(tiny_models, references):
    claim = claim_of(route(tiny_models["llama"], "llama"))
    with pytest.raises(VerifierError):
        verify_route(references["llama"], replace(claim, hops=claim.hops[:2]))


# --- honest variation -----------------------------------------------------------------------


@contextmanager
def threads(count: int) -> Iterator[None]:
    saved = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


@pytest.mark.parametrize(("route_threads", "validator_threads"), [(1, 2), (2, 1)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_thread_count_and_precision_do_not_fail_honest_routes(
    tiny_models, references, dtype, route_threads, validator_threads
):
    shards = route(tiny_models["llama"], "llama", dtype=dtype)
    for prompt in PROMPTS[1:]:
        for sampling in (None, SAMPLED):
            with threads(route_threads):
                claim = claim_of(shards, prompt, sampling, n=40)
            with threads(validator_threads):
                verdict = verify_route(references["llama"], claim)
            assert verdict.ok, (prompt, sampling, verdict)


def test_fp32_and_bf16_replicas_of_one_job_both_pass(tiny_models, references):
    fp32 = claim_of(route(tiny_models["llama"], "llama"))
    bf16 = claim_of(route(tiny_models["llama"], "llama", dtype=torch.bfloat16))
    assert fp32.tokens != bf16.tokens  # the tiny model's near-ties diverge across precisions
    assert verify_route(references["llama"], fp32).ok and verify_route(references["llama"], bf16).ok


def test_mixed_precision_route_and_int8_codec_pass(tiny_models, references):
    mixed = [
        load_shard(tiny_models["llama"], a, b, dtype=d)
        for (a, b), d in zip(
            SPANS["llama"], (torch.float32, torch.bfloat16, torch.float32), strict=True
        )
    ]
    assert verify_route(references["llama"], claim_of(mixed)).ok
    int8 = claim_of(route(tiny_models["llama"], "llama"), codec="int8")
    assert verify_route(references["llama"], int8).ok


# --- adversary plumbing ---------------------------------------------------------------------


def test_skipped_layer_outputs_equal_a_span_without_that_layer(tiny_models):
    honest = load_shard(tiny_models["llama"], 2, 4)
    cheat = AdversarialShard(honest, ComputeAttack(ComputeMode.SKIP_LAYER, layer=2))
    only_last = load_shard(tiny_models["llama"], 3, 4)
    hidden = torch.randn(1, 7, 64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(cheat.forward(hidden), only_last.forward(hidden))
    cache = cheat.new_cache()
    cheat.forward(hidden, cache=cache)
    assert cache.seen_tokens == 7  # the session still advances: positions stay right
    with pytest.raises(ValueError):
        AdversarialShard(honest, ComputeAttack(ComputeMode.SKIP_LAYER, layer=4))


def test_adversary_config_round_trips_through_json_dicts():
    config = AdversaryConfig(
        ComputeAttack(ComputeMode.NOISE, noise_std=0.1, seed=3),
        ProtocolAttack(ProtocolMode.COLLUDE, colluding_routes=(0, 2), seed=8),
    )
    assert AdversaryConfig.from_dict(config.to_dict()) == config
    assert AdversaryConfig.from_dict({}) == AdversaryConfig()


def test_noise_is_deterministic_and_independent_of_step_batching(tiny_models):
    attack = ComputeAttack(ComputeMode.NOISE, noise_std=0.1, seed=4)
    shards = route(tiny_models["llama"], "llama", attacks={1: attack})
    assert claim_of(shards) == claim_of(route(tiny_models["llama"], "llama", attacks={1: attack}))


# --- SmolLM2 (slow) -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2(smollm2_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(smollm2_dir))
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    reference = ReferenceModel.load(smollm2_dir, (torch.float32, torch.bfloat16))
    return smollm2_dir, tuple(prompt["input_ids"]), reference


SMOL_SPANS = ((0, 10), (10, 21), (21, 30))


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_smollm2_honest_routes_pass(smollm2, dtype):
    model_dir, prompt, reference = smollm2
    shards = [load_shard(model_dir, a, b, dtype=dtype) for a, b in SMOL_SPANS]
    for sampling in (None, Sampling(seed=1, temperature=0.8, top_k=50)):
        with threads(2):
            claim = claim_of(shards, prompt, sampling, n=32, eos_ids=set())
        verdict = verify_route(reference, claim)
        assert verdict.ok, verdict


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(ATTACKS))
def test_smollm2_cheats_are_detected_at_the_guilty_hop(smollm2, mode):
    model_dir, prompt, reference = smollm2
    shards = [
        load_adversarial_shard(model_dir, a, b, ATTACKS[mode] if i == 1 else ComputeAttack())
        for i, (a, b) in enumerate(SMOL_SPANS)
    ]
    verdict = verify_route(reference, claim_of(shards, prompt, n=32, eos_ids=set()))
    assert not verdict.ok and verdict.culprit_hop == 1
