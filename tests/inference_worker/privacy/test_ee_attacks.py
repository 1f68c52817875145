"""The sorting-based vocabulary-matching attack (arXiv 2505.18332) against today's EE transform:
a worker that sees the encrypted model's layer-k residual stream and holds the public
checkpoint recovers the plain tokens. It gets no key and no encrypted ids."""

from __future__ import annotations

import inspect

import pytest
import torch

from inference_worker.models import read_manifest
from inference_worker.privacy import ee_attacks
from inference_worker.privacy.ee import generate_key, transform_model
from inference_worker.privacy.ee_attacks import (
    layer_states,
    recover_tokens,
    recovery_rate,
    sorted_profile,
    vocab_profiles,
)


def _setup(tiny_models, tmp_path):
    from transformers import AutoModelForCausalLM

    manifest = read_manifest(tiny_models["llama"])
    key = generate_key("llama", manifest.vocab_size, manifest.hidden_size, seed=11)
    transform_model(tiny_models["llama"], tmp_path / "ee", key)
    public = AutoModelForCausalLM.from_pretrained(str(tiny_models["llama"])).eval()
    served = AutoModelForCausalLM.from_pretrained(str(tmp_path / "ee")).eval()
    return key, public, served, manifest


def test_profile_is_invariant_under_the_signed_residual_permutation(tiny_models, tmp_path):
    key, public, served, manifest = _setup(tiny_models, tmp_path)
    ids = torch.randint(0, manifest.vocab_size, (4, 6), generator=torch.Generator().manual_seed(3))
    plain = layer_states(public, ids, [1])[1]
    enc = layer_states(served, key.vocab_perm[ids], [1])[1]
    assert not torch.allclose(plain, enc, atol=1e-3)  # the worker does not see plain states
    assert torch.allclose(key.decrypt_hidden(enc), plain, atol=1e-4)
    assert torch.allclose(sorted_profile(enc), sorted_profile(plain), atol=1e-4)


@pytest.mark.parametrize("layer", [1, 2])
def test_worker_recovers_the_prompt_from_encrypted_hidden_states(
    tiny_models, tmp_path, layer, report_line
):
    key, public, served, manifest = _setup(tiny_models, tmp_path)
    vocab = manifest.vocab_size
    prompts = torch.randint(0, vocab, (10, 8), generator=torch.Generator().manual_seed(5))
    observed = layer_states(served, key.vocab_perm[prompts], [layer])[layer]  # what hop k gets
    profiles = vocab_profiles(public, vocab, [layer])[layer]
    guessed: list[int] = []
    for row in observed:
        guessed += recover_tokens(row, public, layer, profiles, shortlist=vocab)
    rate = recovery_rate(guessed, prompts.flatten().tolist())
    # The same attack on the encrypted ids themselves would score ~1/vocab: the key matters.
    enc_rate = recovery_rate(key.vocab_perm[prompts].flatten().tolist(), prompts.flatten().tolist())
    report_line(f"EE attack tiny llama layer {layer}: {rate:.1%} of {len(guessed)} tokens")
    assert rate >= 0.9
    assert enc_rate < 0.2


def test_the_attack_takes_nothing_the_worker_lacks():
    params = set(inspect.signature(recover_tokens).parameters)
    assert params == {"observed", "public_model", "layer", "profiles", "shortlist"}
    assert "vocab_perm" not in inspect.getsource(ee_attacks)
    assert "residual_perm" not in inspect.getsource(ee_attacks)
