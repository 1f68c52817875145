"""Sorting-based vocabulary matching (arXiv 2505.18332) against EE on SmolLM2-135M-Instruct.

    python bench/bench_ee.py [--quick] [--shortlist 64]

The owner transforms the model with a random key (vocabulary + signed residual permutation,
``inference_worker/privacy/ee.py``) and sends encrypted ids of a few real prompts. A worker
serving hops [k, ...) receives the encrypted residual stream after layer k; holding the public
checkpoint, it guesses every plain token with ``inference_worker/privacy/ee_attacks.py``
(context-free shortlist of ``--shortlist`` tokens, then rerank in its own recovered prefix).
Reported per layer k: recovery rate, the rate of the shortlist's nearest alone (context-free,
no rerank), how often the true token made the shortlist, and attacker time (profiles of the
whole vocabulary once, then per token).
fp32, CPU; timings are wall-clock on whatever else the machine runs.

Prints a table and writes bench/results/ee_attack.json (ee_attack_quick.json with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from inference_worker.models import prepare_smollm2, read_manifest  # noqa: E402
from inference_worker.privacy.ee import generate_key, transform_model  # noqa: E402
from inference_worker.privacy.ee_attacks import (  # noqa: E402
    layer_states,
    recover_tokens,
    recovery_rate,
    sorted_profile,
    vocab_profiles,
)

RESULTS = Path(__file__).resolve().parent / "results"
PROMPTS = [
    "My bank account number is 4421 and my doctor says the tumour is benign.",
    "Draft a resignation letter to my manager Alice, I am leaving because of the merger.",
    "What is the capital of France? Answer in one word.",
    "Translate into Spanish: the meeting with the lawyers moved to Thursday morning.",
    "Summarise: revenue fell twelve percent in the third quarter while costs rose.",
    "Write a haiku about the sea at night.",
    "My password hint is the name of my first cat, Pickles. Is that safe?",
    "Explain photosynthesis in one sentence for a child.",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 prompts, layers 1 and 2")
    ap.add_argument("--shortlist", type=int, default=64)
    ap.add_argument("--seed", type=int, default=2026, help="key seed (the owner's key)")
    args = ap.parse_args()
    torch.manual_seed(0)
    layers = [1, 2] if args.quick else [1, 2, 4, 8]
    prompts = PROMPTS[:2] if args.quick else PROMPTS

    model_dir = prepare_smollm2()
    manifest = read_manifest(model_dir)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    plain_ids = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    n_tokens = sum(len(p) for p in plain_ids)

    key = generate_key("llama", manifest.vocab_size, manifest.hidden_size, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        transform_model(model_dir, Path(tmp) / "ee", key)
        transform_s = time.perf_counter() - t0
        served = AutoModelForCausalLM.from_pretrained(str(Path(tmp) / "ee")).eval()
    public = AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()

    # What the workers at hop k receive (the owner's side: encrypted ids in, states out).
    observed = [layer_states(served, torch.tensor([key.encrypt_ids(p)]), layers) for p in plain_ids]
    del served

    # The attacker: public model only.
    t0 = time.perf_counter()
    profiles = vocab_profiles(public, manifest.vocab_size, layers)
    profiles_s = time.perf_counter() - t0
    rows = []
    for k in layers:
        guessed: list[int] = []
        nearest: list[int] = []
        shortlisted: list[list[int]] = []
        t0 = time.perf_counter()
        for obs in observed:
            states = obs[k][0]
            guessed += recover_tokens(states, public, k, profiles[k], shortlist=args.shortlist)
            d = torch.cdist(sorted_profile(states), profiles[k])
            nearest += d.argmin(-1).tolist()
            shortlisted += d.topk(args.shortlist, largest=False).indices.tolist()
        attack_s = time.perf_counter() - t0
        truth = [t for p in plain_ids for t in p]
        rows.append(
            {
                "layer": k,
                "tokens": len(truth),
                "recovered": recovery_rate(guessed, truth),
                "context_free_nearest": recovery_rate(nearest, truth),
                "truth_in_shortlist": sum(t in c for t, c in zip(truth, shortlisted, strict=True))
                / len(truth),
                "attack_s": round(attack_s, 2),
                "attack_ms_per_token": round(1000 * attack_s / len(truth), 1),
                "example": tok.decode(guessed[: len(plain_ids[0])]),
            }
        )

    print(f"SmolLM2-135M-Instruct, {len(prompts)} prompts, {n_tokens} tokens, fp32 CPU,")
    print(f"vocab {manifest.vocab_size}, shortlist {args.shortlist}; transform {transform_s:.1f}s,")
    print(f"attacker's vocabulary profiles (layers {layers}) {profiles_s:.1f}s")
    print(
        "| layer k | tokens | recovered | context-free nearest | truth in shortlist | attack s (ms/token) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['layer']} | {r['tokens']} | {r['recovered']:.1%} | "
            f"{r['context_free_nearest']:.1%} | {r['truth_in_shortlist']:.1%} | "
            f"{r['attack_s']} ({r['attack_ms_per_token']}) |"
        )
    for r in rows:
        print(f"layer {r['layer']} guess of prompt 1: {r['example']!r}")
    out = {
        "model": manifest.name,
        "prompts": prompts,
        "tokens": n_tokens,
        "shortlist": args.shortlist,
        "key_seed": args.seed,
        "transform_s": round(transform_s, 2),
        "profiles_s": round(profiles_s, 2),
        "rows": rows,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "threads": torch.get_num_threads(),
        "load": os.getloadavg(),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("ee_attack_quick.json" if args.quick else "ee_attack.json")
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
