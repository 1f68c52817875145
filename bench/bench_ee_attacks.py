"""Attacks on equivariant encryption, measured on SmolLM2-135M-Instruct and all-MiniLM-L6-v2.

    nice -n 10 python bench/bench_ee_attacks.py [--quick]

1. Weight matching (``inference_worker/privacy/ee_attacks_weights.py``): the owner transforms
   the public checkpoint with ``ee.transform_state`` and a random key of each kind; a worker
   holding both recovers the key. Recovery rate per part, attacker wall time.
2. Frequency analysis (``ee_attacks_freq.py``) of n encrypted prompts (64-token windows of
   half the Python reference topics shipped in ``pydoc_data``), prior: unigram/bigram counts
   of the other half through the public tokenizer.
3. Hidden-state inversion with the recovered key: hop 0 gets encrypted ids (decoded with the
   recovered vocabulary), hop 1 gets the layer-1 residual stream (un-rotated with the recovered
   rotation, then ``leakage.recover_split_tokens`` against the public model).
4. A private fine-tune served transformed: every linear layer of the public model and its
   embedding get a random rank-8 update ``B A`` of Frobenius norm ``eps |W|`` (LoRA-sized, and
   worse for the attacker than LoRA, which leaves the embedding alone); the worker only has the
   public base. Sweep eps: key recovered, hop-0 ids and hop-1 tokens decoded.

fp32 CPU; times are wall clock under whatever else the machine runs (the JSON has the load).
Writes bench/results/ee_attacks.json (ee_attacks_quick.json with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pydoc_data.topics  # noqa: E402

import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from inference_worker.models import prepare_minilm, prepare_smollm2  # noqa: E402
from inference_worker.privacy import ee_attacks_weights as W  # noqa: E402
from inference_worker.privacy.ee import EEKey, generate_full_key, transform_state  # noqa: E402
from inference_worker.privacy.ee_attack_targets import served_llama  # noqa: E402
from inference_worker.privacy.ee_attacks import layer_states  # noqa: E402
from inference_worker.privacy.ee_attacks_freq import (  # noqa: E402
    BigramPrior,
    decoded_rate,
    frequency_attack,
)
from inference_worker.privacy.leakage import context_free_states, recover_split_tokens  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PROMPTS = [
    "My bank account number is 4421 and my doctor says the tumour is benign.",
    "Draft a resignation letter to my manager Alice, I am leaving because of the merger.",
    "Translate into Spanish: the meeting with the lawyers moved to Thursday morning.",
    "My password hint is the name of my first cat, Pickles. Is that safe?",
]
ROWS: list[dict] = []


def row(**kw) -> None:
    ROWS.append(kw)
    print(json.dumps(kw), flush=True)


def state_of(folder: Path) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for f in sorted(folder.glob("*.safetensors")):
        out.update(load_file(str(f)))
    return out


def rate(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a == b).double().mean())


def q_of(key: EEKey) -> torch.Tensor:
    q = W.signed_perm_matrix(key.residual_perm, key.residual_sign)
    return q @ key.rotation if key.rotation is not None else q


def llama_key_rows(model: str, pub, config, key: EEKey, kind: str, served) -> W.RecoveredLlamaKey:
    t0 = time.perf_counter()
    found = W.recover_llama_key(pub, served, config)
    s = time.perf_counter() - t0
    inv = torch.argsort(key.vocab_perm)
    err = float((found.rotation - q_of(key)).abs().max())
    row(attack="weights: Gram+Procrustes, nearest rows", model=model, key=kind,
        part="residual transform", recovered=f"max |dQ| {err:.1e}", seconds=round(sum(
            found.seconds[k] for k in ("rotation_gram", "refine_and_vocab")), 1))  # fmt: skip
    row(
        attack="weights: Gram+Procrustes, nearest rows",
        model=model,
        key=kind,
        part="vocabulary",
        recovered=rate(found.vocab, inv),
        seconds=round(found.seconds["refine_and_vocab"], 1),
    )
    if key.mlp_perm is not None:
        r = sum(rate(m, key.mlp_perm[i]) for i, m in enumerate(found.mlp)) / len(found.mlp)
        row(attack="weights: gate rows after un-rotating", model=model, key=kind,
            part="MLP units (all layers)", recovered=r,
            seconds=round(found.seconds["mlp_and_heads"], 1))  # fmt: skip
    if key.head_order is not None:
        r = sum(rate(h, key.head_order[i]) for i, h in enumerate(found.heads)) / len(found.heads)
        row(attack="weights: QK circuits", model=model, key=kind, part="heads (all layers)",
            recovered=r, seconds=round(found.seconds["mlp_and_heads"], 1))  # fmt: skip
    del s
    return found


def weights_smollm2(pub, config) -> tuple[EEKey, dict, W.RecoveredLlamaKey]:
    emb = pub["model.embed_tokens.weight"]
    vocab, hidden = emb.shape
    inv_of = lambda k: torch.argsort(k.vocab_perm)  # noqa: E731
    # vocabulary permutation alone: hash the rows
    key = EEKey("llama", torch.randperm(vocab), torch.arange(hidden), torch.ones(hidden))
    served, _ = transform_state("llama", pub, config, key)
    t0 = time.perf_counter()
    m = W.match_rows_exact(emb, served["model.embed_tokens.weight"].float())
    row(attack="weights: hash rows", model="SmolLM2", key="vocab perm", part="vocabulary",
        recovered=rate(m, inv_of(key)), seconds=round(time.perf_counter() - t0, 1))  # fmt: skip
    # + signed residual permutation: hash sorted |rows|; the columns give the residual part
    key = generate_full_key(config, kinds=frozenset(), seed=1)
    served, _ = transform_state("llama", pub, config, key)
    emb_s = served["model.embed_tokens.weight"].float()
    t0 = time.perf_counter()
    m = W.match_rows_exact(W.sorted_abs(emb), W.sorted_abs(emb_s))
    row(attack="weights: hash sorted |rows|", model="SmolLM2", key="vocab + signed perm",
        part="vocabulary", recovered=rate(m, inv_of(key)),
        seconds=round(time.perf_counter() - t0, 1))  # fmt: skip
    t0 = time.perf_counter()
    perm, sign = W.signed_perm_from_columns(emb, emb_s)
    ok = float(((perm == key.residual_perm) & (sign.float() == key.residual_sign)).double().mean())
    row(attack="weights: sorted |columns| + column sums", model="SmolLM2",
        key="vocab + signed perm", part="residual perm and signs", recovered=ok,
        seconds=round(time.perf_counter() - t0, 1))  # fmt: skip
    # dense rotation: Procrustes on one layer's q_proj (heads not permuted), and the norms
    key = generate_full_key(config, kinds=frozenset({"rotation"}), seed=2)
    served, _ = transform_state("llama", pub, config, key)
    p = "model.layers.0."
    t0 = time.perf_counter()
    q1 = W.procrustes(pub[p + "self_attn.q_proj.weight"] * pub[p + "input_layernorm.weight"],
                      served[p + "self_attn.q_proj.weight"])  # fmt: skip
    row(attack="weights: Procrustes on layer-0 q_proj", model="SmolLM2", key="vocab + rotation",
        part="residual rotation", recovered=f"max |dQ| {float((q1 - q_of(key)).abs().max()):.1e}",
        seconds=round(time.perf_counter() - t0, 2))  # fmt: skip
    t0 = time.perf_counter()
    q2, pairs = W.rotation_from_norms(emb, served["model.embed_tokens.weight"].float())
    row(attack="weights: embedding row norms + Procrustes", model="SmolLM2",
        key="vocab + rotation", part="residual rotation",
        recovered=f"max |dQ| {float((q2 - q_of(key)).abs().max()):.1e} ({pairs} pairs)",
        seconds=round(time.perf_counter() - t0, 2))  # fmt: skip
    # every kind ee.py takes for llama
    key = generate_full_key(config, seed=3)
    served, _ = transform_state("llama", pub, config, key)
    served = {k: v.float() for k, v in served.items()}
    found = llama_key_rows("SmolLM2", pub, config, key, "full key (all kinds)", served)
    return key, served, found


def weights_minilm(pub, config) -> None:
    name = "embeddings.word_embeddings.weight"
    emb = pub[name]
    key = generate_full_key(config, seed=4)  # bert: vocab + residual perm + heads, MLP, Q/K, V/O
    served, _ = transform_state("bert", pub, config, key)
    emb_s = served[name].float()
    t0 = time.perf_counter()
    perm, sign = W.signed_perm_from_columns(emb, emb_s)
    row(attack="weights: sorted |columns|", model="MiniLM", key="full key (all kinds)",
        part="residual perm", recovered=rate(perm, key.residual_perm),
        seconds=round(time.perf_counter() - t0, 1))  # fmt: skip
    t0 = time.perf_counter()
    m = W.match_rows_exact(emb, (emb_s.double() @ W.signed_perm_matrix(perm, sign).T).float())
    row(attack="weights: hash rows after un-permuting", model="MiniLM", key="full key (all kinds)",
        part="vocabulary", recovered=rate(m, torch.argsort(key.vocab_perm)),
        seconds=round(time.perf_counter() - t0, 1))  # fmt: skip


def frequency(model: str, tok, ns: list[int]) -> None:
    keys = sorted(pydoc_data.topics.topics)
    text = pydoc_data.topics.topics
    prior_ids = [tok(text[k], add_special_tokens=False)["input_ids"] for k in keys[0::2]]
    obs = [t for k in keys[1::2] for t in tok(text[k], add_special_tokens=False)["input_ids"]]
    prompts = [obs[i : i + 64] for i in range(0, len(obs) - 63, 64)]
    prior = BigramPrior(prior_ids, top=2048)
    perm = torch.randperm(len(tok), generator=torch.Generator().manual_seed(5))
    enc = [[int(perm[t]) for t in p] for p in prompts]
    for n in ns:
        n = min(n, len(prompts))
        for rounds in (0, 8):
            t0 = time.perf_counter()
            guess = frequency_attack(enc[:n], prior, rounds=rounds)
            occ, distinct = decoded_rate(guess, enc[:n], prompts[:n])
            row(attack="frequency: rank" + (" + bigram re-assignment" if rounds else " only"),
                model=model, key="vocab perm (any)", part=f"{n} prompts x 64 tokens",
                recovered=occ, distinct_ids=distinct, seconds=round(time.perf_counter() - t0, 1))  # fmt: skip


def inversion(label, public_model, served_model, key, found, tok, cf_states) -> None:
    ids = [tok(p, add_special_tokens=False)["input_ids"] for p in PROMPTS]
    truth = [t for p in ids for t in p]
    enc = [[int(key.vocab_perm[t]) for t in p] for p in ids]
    hop0 = [int(found.vocab[e]) for p in enc for e in p]
    row(attack="inversion: hop-0 ids with the recovered vocabulary", model="SmolLM2", key=label,
        part=f"{len(truth)} prompt tokens", recovered=sum(int(a == b) for a, b in zip(hop0, truth, strict=True))
        / len(truth), seconds=0.0)  # fmt: skip
    t0 = time.perf_counter()
    guessed = []
    for p in enc:
        obs = layer_states(served_model, torch.tensor([p]), [1])[1][0]
        plain = (obs.double() @ found.rotation.T).float()  # x = x_enc Q^T
        r = recover_split_tokens(plain, public_model, 1, cf_states, shortlist=64, max_fallbacks=0)
        guessed += r.tokens
    row(attack="inversion: hop-1 states, un-rotated, vocab matching (public model)",
        model="SmolLM2", key=label, part=f"{len(truth)} prompt tokens",
        recovered=sum(int(a == b) for a, b in zip(guessed, truth, strict=True)) / len(truth),
        seconds=round(time.perf_counter() - t0, 1))  # fmt: skip


def finetune(pub, eps: float, rank: int = 8, seed: int = 7) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = dict(pub)
    for name, w in pub.items():
        if w.ndim != 2:
            continue
        b = torch.randn(w.shape[0], rank, generator=g)
        a = torch.randn(rank, w.shape[1], generator=g)
        d = b @ a
        out[name] = w + d * (eps * w.norm() / d.norm())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer prompts, one fine-tune size")
    ap.add_argument("--skip", default="", help="comma list of: weights,freq,invert,finetune")
    args = ap.parse_args()
    skip = set(args.skip.split(",")) - {""}
    torch.manual_seed(0)
    t_all = time.perf_counter()
    sm_dir = prepare_smollm2()
    config = AutoConfig.from_pretrained(str(sm_dir))
    pub = state_of(sm_dir)
    tok = AutoTokenizer.from_pretrained(str(sm_dir))
    mini_dir = prepare_minilm()
    mini_tok = AutoTokenizer.from_pretrained(str(mini_dir))
    if "weights" not in skip:
        key, served, found = weights_smollm2(pub, config)
        weights_minilm(state_of(mini_dir), AutoConfig.from_pretrained(str(mini_dir)))
    if "freq" not in skip:
        ns = [10, 100] if args.quick else [10, 100, 1000]
        frequency("SmolLM2", tok, ns)
        frequency("MiniLM", mini_tok, ns)
    public_model = AutoModelForCausalLM.from_pretrained(str(sm_dir)).eval()
    t0 = time.perf_counter()
    cf = context_free_states(public_model, config.vocab_size, [1])[1]
    print(f"context-free layer-1 states {time.perf_counter() - t0:.1f}s", flush=True)
    if "invert" not in skip and "weights" not in skip:
        served_model = served_llama(served, config)
        inversion("full key (all kinds)", public_model, served_model, key, found, tok, cf)
        del served_model
    if "finetune" not in skip:
        for eps in [0.01] if args.quick else [0.001, 0.01, 0.05, 0.2]:
            ft = finetune(pub, eps)
            key = generate_full_key(config, seed=11)
            served, _ = transform_state("llama", ft, config, key)
            served = {k: v.float() for k, v in served.items()}
            label = f"full key on a fine-tune, eps {eps}"
            found = llama_key_rows("SmolLM2", pub, config, key, label, served)
            inversion(label, public_model, served_llama(served, config), key, found, tok, cf)
    out = {
        "rows": ROWS,
        "total_s": round(time.perf_counter() - t_all, 1),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "threads": torch.get_num_threads(),
        "load": os.getloadavg(),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("ee_attacks_quick.json" if args.quick else "ee_attacks.json")
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path} in {out['total_s']}s")


if __name__ == "__main__":
    main()
