"""Weight matching against the public checkpoint (issue 19 item 4): on tiny seeded models a
worker that holds the public weights and the served (transformed) ones recovers every key kind
exactly. The attack code is given weights only, never the key (checked at the end)."""

from __future__ import annotations

import inspect

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM

from inference_worker.privacy import ee_attacks_weights as W
from inference_worker.privacy.ee import EEKey, generate_key, transform_model
from inference_worker.privacy.ee_attack_targets import served_llama, transform_llama_state


def _state(folder) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for f in sorted(folder.glob("*.safetensors")):
        out.update(load_file(str(f)))
    return out


def _embed(family: str) -> str:
    return {"llama": "model.embed_tokens.weight", "bert": "embeddings.word_embeddings.weight"}[
        family
    ]


@pytest.mark.parametrize("family", ["llama", "bert"])
def test_vocab_permutation_alone_falls_to_row_hashing(tiny_models, tmp_path, family):
    pub = _state(tiny_models[family])
    emb = pub[_embed(family)]
    vocab, hidden = emb.shape
    perm = torch.randperm(vocab, generator=torch.Generator().manual_seed(7))
    key = EEKey(family, perm, torch.arange(hidden), torch.ones(hidden))
    transform_model(tiny_models[family], tmp_path / "ee", key)
    served = _state(tmp_path / "ee")[_embed(family)]
    match = W.match_rows_exact(emb, served)  # served row -> plain token
    assert torch.equal(match, torch.argsort(perm))


@pytest.mark.parametrize("family", ["llama", "bert"])
def test_signed_residual_permutation_falls_to_column_profiles(tiny_models, tmp_path, family):
    pub = _state(tiny_models[family])
    emb = pub[_embed(family)]
    key = generate_key(family, emb.shape[0], emb.shape[1], seed=5)
    transform_model(tiny_models[family], tmp_path / "ee", key)
    served = _state(tmp_path / "ee")[_embed(family)]
    # The vocabulary first, by hashing sign- and order-free rows ...
    assert torch.equal(
        W.match_rows_exact(W.sorted_abs(emb), W.sorted_abs(served)), torch.argsort(key.vocab_perm)
    )
    # ... and the residual transform from the columns, with no row matching at all.
    perm, sign = W.signed_perm_from_columns(emb, served)
    assert torch.equal(perm, key.residual_perm)
    assert torch.equal(sign.float(), key.residual_sign.float())
    unrotated = served.double() @ W.signed_perm_matrix(perm, sign).T
    assert torch.equal(W.match_rows_exact(emb, unrotated.float()), torch.argsort(key.vocab_perm))


def _llama_target(tiny_models, **kinds):
    pub = _state(tiny_models["llama"])
    config = AutoConfig.from_pretrained(str(tiny_models["llama"]))
    served, secret = transform_llama_state(pub, config, seed=3, **kinds)
    return pub, config, served, secret


def test_the_measured_targets_are_exact_transforms(tiny_models):
    """The owner-side transforms the attacks are scored on compute the same model."""
    pub, config, served, secret = _llama_target(tiny_models, rotation="dense", mlp=True, heads=True)
    public = AutoModelForCausalLM.from_pretrained(str(tiny_models["llama"])).eval()
    model = served_llama(served, config)
    ids = torch.randint(0, config.vocab_size, (4, 7), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        plain = public(input_ids=ids).logits
        enc = model(input_ids=secret.vocab_perm[ids]).logits
    assert (enc[..., secret.vocab_perm] - plain).abs().max() < 1e-4
    assert not torch.allclose(enc, plain, atol=1e-2)


def test_dense_rotation_falls_to_procrustes_norms_and_gram(tiny_models):
    pub, config, served, secret = _llama_target(tiny_models, rotation="dense")
    emb, emb_s = pub["model.embed_tokens.weight"], served["model.embed_tokens.weight"]
    q_true = secret.rotation
    layer = "model.layers.0."
    folded_q = pub[layer + "self_attn.q_proj.weight"] * pub[layer + "input_layernorm.weight"]
    # 1. one layer's q_proj (rows aligned when heads are not permuted)
    q1 = W.procrustes(folded_q, served[layer + "self_attn.q_proj.weight"])
    # 2. the embedding rows alone: norms pair rows, Procrustes on the pairs
    q2, pairs = W.rotation_from_norms(emb, emb_s)
    # 3. Gram eigenvectors of the embedding, signs from the third moment
    q3 = W.rotation_from_gram([emb], [emb_s])
    for q in (q1, q2, q3):
        assert (q - q_true).abs().max() < 1e-5
    assert pairs >= emb.shape[1]
    match, _ = W.match_rows_nearest(emb, (emb_s.double() @ q2.T).float())
    assert torch.equal(match, torch.argsort(secret.vocab_perm))


def test_mlp_and_head_permutations_fall_after_the_rotation(tiny_models):
    pub, config, served, secret = _llama_target(tiny_models, rotation="dense", mlp=True, heads=True)
    n = config.num_hidden_layers
    gates = [
        pub[f"model.layers.{i}.mlp.gate_proj.weight"]
        * pub[f"model.layers.{i}.post_attention_layernorm.weight"]
        for i in range(n)
    ]
    emb, emb_s = pub["model.embed_tokens.weight"], served["model.embed_tokens.weight"]
    srv_gates = [served[f"model.layers.{i}.mlp.gate_proj.weight"] for i in range(n)]
    # q_proj rows are permuted by heads now: the Gram of embedding + gate rows survives that.
    q0 = W.rotation_from_gram([emb, *gates], [emb_s, *srv_gates])
    q, vocab_match = W.refine_rotation(emb, emb_s, q0, rounds=1)
    assert (q - secret.rotation).abs().max() < 1e-5
    assert torch.equal(vocab_match, torch.argsort(secret.vocab_perm))
    for i in range(n):
        p = f"model.layers.{i}."
        g_in = pub[p + "input_layernorm.weight"]
        unrot = {
            name: (served[p + name].double() @ q.T).float()
            for name in (
                "mlp.gate_proj.weight",
                "self_attn.q_proj.weight",
                "self_attn.k_proj.weight",
            )
        }
        units, _ = W.match_rows_nearest(gates[i], unrot["mlp.gate_proj.weight"])
        assert torch.equal(units, secret.mlp_perms[i])
        heads = W.match_heads(
            pub[p + "self_attn.q_proj.weight"] * g_in,
            pub[p + "self_attn.k_proj.weight"] * g_in,
            unrot["self_attn.q_proj.weight"],
            unrot["self_attn.k_proj.weight"],
            config.num_attention_heads,
            config.num_key_value_heads,
        )
        assert torch.equal(heads, secret.head_orders[i])


def test_the_weight_attacks_take_weights_only():
    source = inspect.getsource(W)
    for secret_name in ("vocab_perm", "residual_perm", "residual_sign", "ee_attack_targets"):
        assert secret_name not in source
    assert "privacy.ee " not in source and "privacy.ee import" not in source


@pytest.mark.parametrize("kinds", [frozenset(), None])  # signed permutation only; every kind
def test_the_whole_full_key_of_ee_py_falls(tiny_models, kinds):
    """``ee.generate_full_key`` (rotation, MLP permutation and rescale, head order, RoPE-pair
    Q/K mixing, V/O mixing) on tiny llama: weights alone give the whole key back."""
    from inference_worker.privacy.ee import generate_full_key, transform_state

    pub = _state(tiny_models["llama"])
    config = AutoConfig.from_pretrained(str(tiny_models["llama"]))
    key = generate_full_key(config, kinds=kinds, seed=9)
    served, _ = transform_state("llama", pub, config, key)
    found = W.recover_llama_key(pub, {k: v.float() for k, v in served.items()}, config)
    q_true = W.signed_perm_matrix(key.residual_perm, key.residual_sign)
    if key.rotation is not None:
        q_true = q_true @ key.rotation
    assert (found.rotation - q_true).abs().max() < 1e-5
    assert torch.equal(found.vocab, torch.argsort(key.vocab_perm))
    if key.mlp_perm is not None:
        assert all(torch.equal(m, key.mlp_perm[i]) for i, m in enumerate(found.mlp))
    if key.head_order is not None:
        assert all(torch.equal(h, key.head_order[i]) for i, h in enumerate(found.heads))
