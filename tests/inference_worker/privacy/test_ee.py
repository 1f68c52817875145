"""Equivariant encryption (vocabulary + residual permutations): the transformed model, fed
encrypted ids, gives the original model's outputs after decryption; the sharded pipeline serves
the transformed folder unchanged."""

from __future__ import annotations

import pytest
import torch

from inference_worker.models import read_manifest, verify_shard_weights
from inference_worker.pipeline.generate import generate, reference_generate
from inference_worker.pipeline.shard import load_shard
from inference_worker.privacy.ee import EEKey, generate_key, transform_model

NUM_PROMPTS = 200
# fp32, relative to the largest logit: permutations only reorder sums. Measured on the tiny
# models (seed TINY_SEED, 200 prompts): llama 1.2e-5 (1.55e-4 of 13.1), gpt2 1.4e-6.
LOGIT_REL_TOL = 1e-4


def _same_greedy(want: torch.Tensor, got: torch.Tensor, tol: float) -> bool:
    """Greedy tokens equal wherever the top-2 gap is beyond what the rounding may move (2 tol);
    a near-tie may go either way under another summation order, so it is not a failure."""
    top2 = want.topk(2, dim=-1).values
    clear = (top2[..., 0] - top2[..., 1]) > 2 * tol
    return bool((want.argmax(-1) == got.argmax(-1))[clear].all())


def _prompts(vocab: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(7)
    return torch.randint(0, vocab, (NUM_PROMPTS, 6), generator=g)  # (prompts, seq)


def _encrypted(tiny_models, family, tmp_path, *, signs=True):
    manifest = read_manifest(tiny_models[family])
    key = generate_key(family, manifest.vocab_size, manifest.hidden_size, seed=11, signs=signs)
    key.save(tmp_path / "key.safetensors")
    key = EEKey.load(tmp_path / "key.safetensors")
    transform_model(tiny_models[family], tmp_path / "ee", key)
    return key, tmp_path / "ee"


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_causal_lm_logits_and_greedy_tokens_match_after_decryption(
    tiny_models, family, tmp_path, report_line
):
    from transformers import AutoModelForCausalLM

    key, ee_dir = _encrypted(tiny_models, family, tmp_path)
    plain = AutoModelForCausalLM.from_pretrained(str(tiny_models[family])).eval()
    served = AutoModelForCausalLM.from_pretrained(str(ee_dir)).eval()
    ids = _prompts(plain.config.vocab_size)
    enc_ids = key.vocab_perm[ids]
    with torch.inference_mode():
        want = plain(ids).logits  # (prompts, seq, vocab)
        got = key.decrypt_logits(served(enc_ids).logits)
    err = float((want - got).abs().max())
    tol = LOGIT_REL_TOL * float(want.abs().max())
    report_line(f"EE {family} vocab+residual perm: max |dlogit| {err:.2e} over {NUM_PROMPTS}")
    assert err < tol
    assert _same_greedy(want, got, tol)  # greedy tokens at every position not a near-tie


def test_a_wrong_key_does_not_decrypt(tiny_models, tmp_path):
    from transformers import AutoModelForCausalLM

    _, ee_dir = _encrypted(tiny_models, "llama", tmp_path)
    wrong = generate_key("llama", 96, 64, seed=12)
    plain = AutoModelForCausalLM.from_pretrained(str(tiny_models["llama"])).eval()
    served = AutoModelForCausalLM.from_pretrained(str(ee_dir)).eval()
    ids = _prompts(96)
    with torch.inference_mode():
        got = wrong.decrypt_logits(served(wrong.vocab_perm[ids]).logits)
        want = plain(ids).logits
    assert (want.argmax(-1) == got.argmax(-1)).float().mean() < 0.5


def test_bert_hidden_states_match_after_decryption(tiny_models, tmp_path, report_line):
    from transformers import AutoModel

    key, ee_dir = _encrypted(tiny_models, "bert", tmp_path)
    assert bool((key.residual_sign == 1).all())  # LayerNorm: pure permutation
    plain = AutoModel.from_pretrained(str(tiny_models["bert"])).eval()
    served = AutoModel.from_pretrained(str(ee_dir)).eval()
    ids = _prompts(96)
    with torch.inference_mode():
        want = plain(ids).last_hidden_state
        got = key.decrypt_hidden(served(key.vocab_perm[ids]).last_hidden_state)
    err = float((want - got).abs().max())
    report_line(f"EE bert vocab+residual perm: max |dhidden| {err:.2e}")
    assert err < LOGIT_REL_TOL * float(want.abs().max())  # measured 6.1e-5 absolute


def test_sharded_pipeline_serves_the_transformed_folder(tiny_models, tmp_path):
    key, ee_dir = _encrypted(tiny_models, "llama", tmp_path)
    manifest = read_manifest(ee_dir)
    verify_shard_weights(ee_dir, 0, manifest.num_layers, manifest)
    assert manifest.layer_commitments != read_manifest(tiny_models["llama"]).layer_commitments
    prompt = [3, 17, 42, 5, 8]
    want = reference_generate(tiny_models["llama"], prompt, 12, eos_ids=set())
    shards = [load_shard(ee_dir, 0, 2, manifest=manifest), load_shard(ee_dir, 2, 5)]
    got = generate(shards, key.encrypt_ids(prompt), max_new_tokens=12, eos_ids=set())
    assert got.tokens != want or key.encrypt_ids(want) == want  # the worker sees ciphertext
    assert key.decrypt_ids(got.tokens) == want


def _causal_lm(model_dir):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()


def _sample(model, prompt, n, select, seed) -> list[int]:
    """`n` tokens sampled after `prompt` by `select(logits, generator)` (no KV cache: tiny)."""
    g, ids = torch.Generator().manual_seed(seed), list(prompt)
    with torch.inference_mode():
        for _ in range(n):
            ids.append(select(model(torch.tensor([ids])).logits[0, -1], g))
    return ids[len(prompt) :]


def test_rank_sampler_gives_the_same_tokens_under_a_vocabulary_permutation(tiny_models, tmp_path):
    from inference_worker.pipeline.generate import Sampling, select_token
    from inference_worker.privacy.ee_sampling import select_token_by_rank

    perm = torch.randperm(96, generator=torch.Generator().manual_seed(3))
    key = EEKey("llama", perm, torch.arange(64), torch.ones(64))  # a pure vocabulary permutation
    transform_model(tiny_models["llama"], tmp_path / "ee", key)
    plain, served = (_causal_lm(d) for d in (tiny_models["llama"], tmp_path / "ee"))
    prompt = [3, 17, 42, 5, 8]
    by_rank = lambda logits, g: select_token_by_rank(logits, g, temperature=1.5)  # noqa: E731
    for seed in range(2):
        want = _sample(plain, prompt, 12, by_rank, seed)
        got = _sample(served, key.encrypt_ids(prompt), 12, by_rank, seed)
        assert key.decrypt_ids(got) == want
    # the pipeline's multinomial draws in vocabulary order: the same seed picks other tokens
    sampling = Sampling(seed=0, temperature=1.5)
    in_order = lambda logits, g: select_token(logits, sampling, g)  # noqa: E731
    want = _sample(plain, prompt, 16, in_order, 0)
    got = _sample(served, key.encrypt_ids(prompt), 16, in_order, 0)
    assert key.decrypt_ids(got) != want
