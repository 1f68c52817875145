"""Hidden-state inversion with a key recovered from the weights, and the private fine-tune case
(issue 19 item 4), on tiny llama with ``ee.generate_full_key`` (every kind)."""

from __future__ import annotations

import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM

from inference_worker.privacy import ee_attacks_weights as W
from inference_worker.privacy.ee import generate_full_key, transform_state
from inference_worker.privacy.ee_attack_targets import served_llama
from inference_worker.privacy.ee_attacks import layer_states
from inference_worker.privacy.leakage import context_free_states, recover_split_tokens


def _setup(tiny_models, eps: float = 0.0):
    folder = tiny_models["llama"]
    pub: dict[str, torch.Tensor] = {}
    for f in sorted(folder.glob("*.safetensors")):
        pub.update(load_file(str(f)))
    config = AutoConfig.from_pretrained(str(folder))
    owner = dict(pub)
    if eps:  # the owner's private fine-tune: a rank-2 update of relative size eps per matrix
        g = torch.Generator().manual_seed(4)
        for name, w in pub.items():
            if w.ndim == 2:
                d = torch.randn(w.shape[0], 2, generator=g) @ torch.randn(
                    2, w.shape[1], generator=g
                )
                owner[name] = w + d * (eps * w.norm() / d.norm())
    key = generate_full_key(config, seed=21)
    served, _ = transform_state("llama", owner, config, key)
    served = {k: v.float() for k, v in served.items()}
    public = AutoModelForCausalLM.from_pretrained(str(folder)).eval()
    return pub, config, key, served, public


def test_recovered_key_decodes_the_states_a_worker_receives(tiny_models):
    pub, config, key, served, public = _setup(tiny_models)
    found = W.recover_llama_key(pub, served, config)  # weights only
    prompts = torch.randint(
        0, config.vocab_size, (6, 8), generator=torch.Generator().manual_seed(2)
    )
    model = served_llama(served, config)
    cf = context_free_states(public, config.vocab_size, [1])[1]
    guessed: list[int] = []
    for p in prompts:
        enc = key.vocab_perm[p]  # the owner's encrypted ids
        assert torch.equal(found.vocab[enc], p)  # hop 0: the ids themselves
        obs = layer_states(model, enc[None], [1])[1][0]  # hop 1: the layer-1 stream
        plain = (obs.double() @ found.rotation.T).float()
        guessed += recover_split_tokens(plain, public, 1, cf, shortlist=8).tokens
    assert guessed == prompts.flatten().tolist()


def test_a_small_private_fine_tune_still_gives_the_key_away(tiny_models):
    pub, config, key, served, _ = _setup(tiny_models, eps=0.01)
    found = W.recover_llama_key(pub, served, config)  # against the PUBLIC base only
    assert torch.equal(found.vocab, torch.argsort(key.vocab_perm))
    assert key.mlp_perm is not None and key.head_order is not None
    assert all(torch.equal(m, key.mlp_perm[i]) for i, m in enumerate(found.mlp))
    assert all(torch.equal(h, key.head_order[i]) for i, h in enumerate(found.heads))
