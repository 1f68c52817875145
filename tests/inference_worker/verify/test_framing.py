"""Framing an honest hop (issue 14, item 2): a sender whose sent states still match its
fingerprint must be named itself, never the honest hop that computed on them.

(a) magnitude moved between the channels a clipping fingerprint clipped (signs and RMS kept);
(b) noise orthogonal to the public AND the late probes, aimed after predicting the output.
Tiny seeded llama with two massive residual channels (like SmolLM2's), 3 signed hops; the
verifier judges each hop on the frames it received (VERIFICATION.md, "Judging a hop on what it
received").
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from inference_worker.pipeline.frames import FrameSigner
from inference_worker.verify.adversary import ComputeAttack, ComputeMode, load_adversarial_shard
from inference_worker.verify.evidence import (
    RouteClaim,
    generate_claim,
    hop_claim_from_reveal,
    reveal_payload,
)
from inference_worker.verify.fingerprint import compute_fingerprint, derive_probe_seed
from inference_worker.verify.verifier import ReferenceModel, late_seed, verify_route

SPANS = ((0, 2), (2, 4), (4, 5))
PROMPT = (1, 5, 9, 22, 7, 3, 11, 40, 2)
JOB = 77
SEED = derive_probe_seed(JOB)
KEYS = [FrameSigner(hashlib.sha256(f"framing-hop-{k}".encode()).digest()) for k in range(3)]
MASSIVE = {5: 1000.0, 20: -900.0}  # residual channel -> constant embedding value
NORM_GAIN = 20.0  # the other channels' norm weights: they are ~1/20 of the RMS after a norm


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def model_dir(tiny_models, tmp_path_factory) -> Path:
    """The tiny llama with two massive embedding channels, so every residual state has two
    channels beyond |h / rms| = 4 (what the old fingerprint clipped)."""
    from safetensors.torch import load_file
    from transformers import AutoConfig

    from inference_worker.models import WEIGHTS_FILE, save_canonical

    source = tiny_models["llama"]
    state = load_file(str(source / WEIGHTS_FILE))
    embed = state["model.embed_tokens.weight"].clone()
    for channel, value in MASSIVE.items():
        embed[:, channel] = value
    state["model.embed_tokens.weight"] = embed
    for name in [k for k in state if k.endswith("norm.weight")]:
        # Every norm ignores the massive channels and rescales the rest, as real LMs learn to
        # (an attention sink), so the tokens still depend on the context.
        weight = state[name].clone() * NORM_GAIN
        weight[list(MASSIVE)] = 0.0
        state[name] = weight
    out = tmp_path_factory.mktemp("massive-llama")
    config = AutoConfig.from_pretrained(str(source))
    save_canonical(state, config, out, name="tiny-llama-massive", source={"seed": "1234"})
    return out


@pytest.fixture(scope="module")
def reference(model_dir) -> ReferenceModel:
    return ReferenceModel.load(model_dir)


@pytest.fixture(scope="module")
def plain_dir(tiny_models) -> Path:
    return tiny_models["llama"]


@pytest.fixture(scope="module")
def plain_reference(plain_dir) -> ReferenceModel:
    return ReferenceModel.load(plain_dir)


def claim_of(model_dir, attacks=None, *, n=24) -> RouteClaim:
    shards = [
        load_adversarial_shard(model_dir, a, b, (attacks or {}).get(i, ComputeAttack()))
        for i, (a, b) in enumerate(SPANS)
    ]
    return generate_claim(shards, PROMPT, max_new_tokens=n, probe_seed=SEED, job_id=JOB, keys=KEYS)


def through_chain(claim: RouteClaim) -> RouteClaim:
    """The claim as a validator rebuilds it: the reveals from chain, plus the frames each
    receiver kept (its dispute payload)."""
    hops = tuple(
        replace(
            hop_claim_from_reveal(
                h.start, h.end, h.dtype, reveal_payload(claim, k), worker=h.worker
            ),
            received_frames=h.received_frames,
        )
        for k, h in enumerate(claim.hops)
    )
    return replace(claim, hops=hops)


def test_the_massive_channels_are_clipped_where_the_attack_needs_them(model_dir):
    from inference_worker.pipeline.shard import load_shard

    shard = load_shard(model_dir, 0, 2)
    out = shard.forward(shard.embed(torch.tensor([list(PROMPT)])))[0]  # (seq, hidden)
    u = out / out.pow(2).mean(dim=-1, keepdim=True).sqrt()
    assert bool(((u.abs() > 4).sum(dim=-1) >= 2).all())


@pytest.mark.parametrize("sender", [0, 1])
def test_moving_magnitude_between_clipped_channels_names_the_sender(model_dir, reference, sender):
    attack = ComputeAttack(ComputeMode.CLIP_SHIFT, shift=0.2)
    claim = claim_of(model_dir, {sender: attack})
    honest = claim_of(model_dir)
    # The states really moved (more than the fp32 tolerance), yet keep every clipped code.
    moved = _largest_change(model_dir, sender, attack)
    assert moved > 0.05
    for candidate in (claim, None):
        candidate = candidate or through_chain(claim)
        verdict = verify_route(reference, candidate)
        assert verdict.culprit_hop == sender, (claim.tokens == honest.tokens, verdict.hops)
        assert not verdict.ok
        assert verdict.hops[sender + 1].ok  # the receiver computed honestly on what it got


@pytest.mark.parametrize("sender", [0, 1])
def test_noise_orthogonal_to_the_public_and_late_probes_names_the_sender(
    plain_dir, plain_reference, sender
):
    model_dir, reference = plain_dir, plain_reference
    honest = claim_of(model_dir, n=8)
    predicted = late_seed(honest)  # the attacker ran the whole model first
    attack = ComputeAttack(
        ComputeMode.PROBE_ORTHOGONAL, noise_std=0.05, seed=0, probe_seed=SEED,
        late_probe_seed=predicted,
    )  # fmt: skip
    claim = claim_of(model_dir, {sender: attack}, n=8)
    assert claim.tokens == honest.tokens  # so its late probes were the predicted ones
    for candidate in (claim, None):
        candidate = candidate or through_chain(claim)
        verdict = verify_route(reference, candidate)
        assert verdict.culprit_hop == sender, verdict.hops
        assert not verdict.ok
        assert verdict.hops[sender + 1].ok


def test_without_frames_the_unclipped_fingerprint_still_names_the_clip_shifter(
    model_dir, reference
):
    """On chain today (no channel hands validators the frames) the reveals alone name the
    sender of (a): its signed late rows no longer clip the channels it moved."""
    claim = claim_of(model_dir, {0: ComputeAttack(ComputeMode.CLIP_SHIFT, shift=0.2)})
    bare = replace(claim, hops=tuple(replace(h, received_frames=None) for h in claim.hops))
    verdict = verify_route(reference, through_chain(bare))
    assert verdict.culprit_hop == 0 and verdict.hops[0].source == "signed"
    assert verdict.hops[1].input == "reference"  # it deviates too, from its input: not named


def test_an_honest_route_with_its_frames_passes(model_dir, reference):
    claim = claim_of(model_dir)
    for candidate in (claim, None):
        candidate = candidate or through_chain(claim)
        verdict = verify_route(reference, candidate)
        assert verdict.ok and verdict.culprit_hop is None, verdict.hops


def _largest_change(model_dir, hop: int, attack: ComputeAttack) -> float:
    """Largest relative L2 change CLIP_SHIFT makes to hop `hop`'s output on the prompt."""
    shard = load_adversarial_shard(model_dir, 0, SPANS[hop][1], ComputeAttack())
    cheat = load_adversarial_shard(model_dir, 0, SPANS[hop][1], attack)
    ids = torch.tensor([list(PROMPT)])
    honest = shard.forward(shard.embed(ids))[0]
    moved = cheat.forward(cheat.embed(ids))[0]
    same = compute_fingerprint(honest, probe_seed=SEED)
    return float(((moved - honest).norm(dim=-1) / honest.norm(dim=-1)).max()) if same else 0.0


@pytest.mark.slow
@pytest.mark.parametrize("sender", [0, 1])
def test_smollm2_clip_shift_and_predicted_orthogonal_noise_name_the_sender(smollm2_dir, sender):
    """The issue's SmolLM2 reproduction: both variants, hops [0,10) [10,21) [21,30)."""
    spans = ((0, 10), (10, 21), (21, 30))
    reference = ReferenceModel.load(smollm2_dir)
    prompt = (1, 9690, 30, 1115, 314, 260, 3575, 282, 4649, 47, 2, 198)

    def run(attacks=None) -> RouteClaim:
        shards = [
            load_adversarial_shard(smollm2_dir, a, b, (attacks or {}).get(i, ComputeAttack()))
            for i, (a, b) in enumerate(spans)
        ]
        return generate_claim(
            shards, prompt, max_new_tokens=8, probe_seed=SEED, job_id=JOB, keys=KEYS
        )

    honest = run()
    orthogonal = ComputeAttack(
        ComputeMode.PROBE_ORTHOGONAL, noise_std=0.05, seed=0, probe_seed=SEED,
        late_probe_seed=late_seed(honest),
    )  # fmt: skip
    for attack in (ComputeAttack(ComputeMode.CLIP_SHIFT, shift=0.2), orthogonal):
        claim = run({sender: attack})
        verdict = verify_route(reference, through_chain(claim))
        assert verdict.culprit_hop == sender, (attack.mode, verdict.hops)
        assert verdict.hops[sender + 1].ok
