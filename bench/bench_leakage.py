"""What a worker serving layers k.. of a split job recovers from the hidden states it receives.

    nice -n 10 python bench/bench_leakage.py [--quick] [--match-tokens 48] [--max-fallbacks 6]

SmolLM2-135M-Instruct (public weights, fp32, CPU). Text shipped with scikit-learn (the
dataset descriptions, ``sklearn.datasets.load_*().DESCR``): the wine description is the
users' prompts (test), the other five descriptions are the attacker's public training text.
A split at depth k sends the residual stream after layer k; for k in 1, 2, 4, 8 we measure:

- vocabulary matching (``inference_worker/privacy/leakage.py``): shortlist of ``--shortlist``
  tokens (the probe's top guesses, or with ``--shortlist-from context-free`` the nearest
  context-free states), rerank in the recovered prefix on a KV cache, exhaustive
  49,152-token fallback when the best relative L2 distance is above 1e-3, at most
  ``--max-fallbacks`` exhaustive searches per depth (a CPU budget; the rows say how many ran
  and how many positions wanted one but were capped);
- a linear ridge probe, layer-k state -> token embedding -> nearest token, trained on the
  public text, tested on every token of the wine description (top-1), with the
  most-frequent-training-token baseline.

Prints a table and writes bench/results/split_leakage.json (split_leakage_quick.json with
--quick). Wall-clock figures depend on what else the machine runs (the JSON has the load).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from sklearn import datasets  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from inference_worker.models import prepare_smollm2, read_manifest  # noqa: E402
from inference_worker.privacy.ee_attacks import layer_states  # noqa: E402
from inference_worker.privacy.leakage import (  # noqa: E402
    accuracy,
    context_free_states,
    fit_probe,
    probe_predict,
    probe_topk,
    recover_split_tokens,
)

RESULTS = Path(__file__).resolve().parent / "results"
TRAIN_TEXTS = ("load_iris", "load_breast_cancer", "load_diabetes", "load_digits", "load_linnerud")
TEST_TEXT = "load_wine"
WINDOW = 128  # tokens per sequence when passing text through the model


def windows(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size) if ids[i : i + size]]


def states_of(model, seqs: list[list[int]], layers: list[int]) -> dict[int, torch.Tensor]:
    """{k: (total tokens, hidden)}: each sequence on its own through the first k layers."""
    out: dict[int, list[torch.Tensor]] = {k: [] for k in layers}
    for s in seqs:
        st = layer_states(model, torch.tensor([s]), layers)
        for k in layers:
            out[k].append(st[k][0])
    return {k: torch.cat(v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="depths 1 and 2, 16 matched tokens")
    ap.add_argument("--match-tokens", type=int, default=48, help="prompt tokens matched per depth")
    ap.add_argument("--prompt-len", type=int, default=16, help="tokens per matched prompt")
    ap.add_argument("--shortlist", type=int, default=64)
    ap.add_argument("--max-fallbacks", type=int, default=6, help="exhaustive searches per depth")
    ap.add_argument(
        "--shortlist-from",
        choices=("probe", "context-free"),
        default="probe",
        help="the probe's top guesses, or the nearest context-free vocab states",
    )
    args = ap.parse_args()
    torch.manual_seed(0)
    depths = [1, 2] if args.quick else [1, 2, 4, 8]
    n_match = 16 if args.quick else args.match_tokens

    model_dir = prepare_smollm2()
    manifest = read_manifest(model_dir)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()
    vocab = manifest.vocab_size

    def ids_of(loader: str) -> list[int]:
        return tok(getattr(datasets, loader)().DESCR, add_special_tokens=False)["input_ids"]

    train_ids = [t for name in TRAIN_TEXTS for t in ids_of(name)]
    test_ids = ids_of(TEST_TEXT)
    # The users' prompts: consecutive windows of the wine description, each its own sequence.
    prompts = windows(test_ids, args.prompt_len)[: max(1, n_match // args.prompt_len)]
    truth = [t for p in prompts for t in p]

    # What the worker at depth k receives, per prompt: (seq, hidden).
    observed = [layer_states(model, torch.tensor([p]), depths) for p in prompts]

    t0 = time.perf_counter()
    vocab_states = context_free_states(model, vocab, depths)
    vocab_states_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    train = states_of(model, windows(train_ids, WINDOW), depths)
    test = states_of(model, windows(test_ids, WINDOW), depths)
    probe_states_s = time.perf_counter() - t0
    embeddings = model.get_input_embeddings().weight.detach()
    majority = Counter(train_ids).most_common(1)[0][0]
    baseline = accuracy([majority] * len(test_ids), test_ids)

    rows = []
    for k in depths:
        t0 = time.perf_counter()
        probe = fit_probe(train[k], torch.tensor(train_ids), embeddings)
        probe_acc = accuracy(probe_predict(probe, test[k]).tolist(), test_ids)
        probe_s = time.perf_counter() - t0
        guessed, fallbacks, capped, dists, secs = [], 0, 0, [], 0.0
        nearest: list[int] = []
        in_shortlist = 0
        for p, obs in zip(prompts, observed, strict=True):
            states = obs[k][0]
            cands = None
            if args.shortlist_from == "probe":
                cands = probe_topk(probe, states, args.shortlist)
            else:
                cands = torch.cdist(states, vocab_states[k]).topk(args.shortlist, largest=False)
                cands = cands.indices
            in_shortlist += sum(int(t in c.tolist()) for t, c in zip(p, cands, strict=True))
            r = recover_split_tokens(
                states,
                model,
                k,
                vocab_states[k],
                shortlist=args.shortlist,
                max_fallbacks=max(0, args.max_fallbacks - fallbacks),
                candidates=cands,
            )
            guessed += r.tokens
            fallbacks += sum(r.fallback)
            capped += sum(d > 1e-3 and not f for d, f in zip(r.distance, r.fallback, strict=True))
            dists += r.distance
            secs += sum(r.seconds)
            nearest += torch.cdist(states, vocab_states[k]).argmin(-1).tolist()
        rows.append(
            {
                "depth": k,
                "matched_tokens": len(truth),
                "recovered": accuracy(guessed, truth),
                "context_free_nearest": accuracy(nearest, truth),
                "truth_in_shortlist": in_shortlist / len(truth),
                "exhaustive_searches": fallbacks,
                "capped_positions": capped,
                "max_chosen_distance": max(dists),
                "attack_ms_per_token": round(1000 * secs / len(truth), 1),
                "probe_train_tokens": len(train_ids),
                "probe_test_tokens": len(test_ids),
                "probe_top1": probe_acc,
                "probe_fit_s": round(probe_s, 2),
                "example": tok.decode(guessed[: len(prompts[0])]),
            }
        )
        print(f"depth {k} done: {rows[-1]['recovered']:.1%}, probe {probe_acc:.1%}", flush=True)

    print(f"SmolLM2-135M-Instruct, fp32 CPU, vocab {vocab}, shortlist {args.shortlist}", end=" ")
    print(f"from {args.shortlist_from}, at most {args.max_fallbacks} exhaustive searches/depth")
    print(f"context-free vocab states (depths {depths}) {vocab_states_s:.1f}s; probe states")
    print(f"{probe_states_s:.1f}s; probe baseline (most frequent train token) {baseline:.1%}")
    print(
        "| depth k | matched tokens | recovered | context-free nearest | truth in shortlist "
        "| exhaustive searches (capped) | ms/token | probe top-1 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['depth']} | {r['matched_tokens']} | {r['recovered']:.1%} | "
            f"{r['context_free_nearest']:.1%} | {r['truth_in_shortlist']:.1%} | "
            f"{r['exhaustive_searches']} "
            f"({r['capped_positions']}) | {r['attack_ms_per_token']} | {r['probe_top1']:.1%} |"
        )
    print(f"prompt 1: {tok.decode(prompts[0])!r}")
    for r in rows:
        print(f"depth {r['depth']} guess of prompt 1: {r['example']!r}")
    out = {
        "command": "nice -n 10 python " + " ".join(sys.argv),
        "model": manifest.name,
        "vocab": vocab,
        "shortlist": args.shortlist,
        "shortlist_from": args.shortlist_from,
        "max_fallbacks": args.max_fallbacks,
        "prompts": [tok.decode(p) for p in prompts],
        "train_texts": list(TRAIN_TEXTS),
        "test_text": TEST_TEXT,
        "probe_baseline_top1": baseline,
        "vocab_states_s": round(vocab_states_s, 2),
        "probe_states_s": round(probe_states_s, 2),
        "rows": rows,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "threads": torch.get_num_threads(),
        "load": os.getloadavg(),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("split_leakage_quick.json" if args.quick else "split_leakage.json")
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
