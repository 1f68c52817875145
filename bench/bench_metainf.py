"""MetaInf on this machine: the learner vs its baselines on the measured table, auto vs the fixed
default on a real SmolLM2 job, and weight compression (int8 mixed vs bf16 vs fp32).

    python bench/bench_metainf.py [--table T.json] [--skip-auto] [--skip-compression]
                                  [--prompts 100] [--only-compression]

1. Selection: the table `infera worker bench` wrote (default: the one shipped in
   inference_worker/accel/data/) is grouped into tasks; every selector is trained with one model
   (then one hardware variant) held out and scored on it: top-1 accuracy, share within 5 % of
   the best, mean and p95 regret, geometric-mean speedup over plain/t2. Job classes: EXACT
   (verified jobs: exact options only) and LOSSY (every option).
2. Auto vs default: SmolLM2, an input-grounded job (repeat a real paragraph), through
   `pipeline.generate.generate` with an "auto" Accelerator vs plain; tokens/s and equality.
3. Compression: SmolLM2 fp32 / bf16 / int8 mixed: bytes per layer, decode tokens/s, greedy
   agreement with fp32 over `--prompts` prompts (sentences of scikit-learn's dataset
   descriptions: 8 fp32 greedy tokens each, the lossy model teacher-forced over them), and
   perplexity on held-out paragraphs.

Prints tables and writes bench/results/metainf.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference_worker.accel.bench import corpus, load_rows  # noqa: E402
from inference_worker.accel.learner import build_tasks, evaluate  # noqa: E402
from inference_worker.accel.select import SHIPPED_TABLE  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "metainf.json"
COMPRESSION = OUT.with_name("metainf-compression.json")


def selection(table: Path) -> dict:
    rows = load_rows(table)
    tasks = build_tasks(rows)
    options = sorted({r.option for r in rows})
    print(f"table: {len(rows)} rows, {len(tasks)} tasks, {len(options)} options, 1 run a cell")
    result = {"rows": len(rows), "tasks": len(tasks), "options": options}
    for lossy in (False, True):
        for hold_out in ("model", "hardware"):
            name = f"leave-one-{hold_out}-out, {'LOSSY' if lossy else 'EXACT'} jobs"
            scores = evaluate(tasks, hold_out=hold_out, lossy=lossy)
            print(f"\n{name}")
            print(
                f"{'selector':18} {'top-1':>6} {'<=5%':>6} {'regret':>7} {'p95':>6} {'speedup':>8}"
            )
            for sel, s in scores.items():
                print(
                    f"{sel:18} {s.accuracy:6.3f} {s.within_5pct:6.3f} {s.mean_regret:7.3f} "
                    f"{s.p95_regret:6.3f} {s.speedup:7.2f}x"
                )
            result[name] = {sel: asdict(s) for sel, s in scores.items()}
    return result


def smol_prompt(tok, text: str) -> list[int]:
    ids = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True)
    return [int(t) for t in (ids["input_ids"] if hasattr(ids, "keys") else ids)]


def auto_vs_default(table: Path) -> dict:
    from transformers import AutoTokenizer

    from inference_worker.accel.select import Accelerator
    from inference_worker.models import prepare_smollm2
    from inference_worker.pipeline.generate import generate
    from inference_worker.pipeline.shard import load_shard

    path = prepare_smollm2()
    tok = AutoTokenizer.from_pretrained(str(path))
    shards = [load_shard(path, 0, 30)]
    paragraph = corpus()[5][:400]
    prompt = smol_prompt(tok, f"Repeat this text exactly:\n\n{paragraph}")
    auto = Accelerator("auto", table=table)
    rounds = []
    for _ in range(2):  # alternate, so load from other processes hits both alike
        t = time.perf_counter()
        plain = generate(shards, prompt, max_new_tokens=48)
        plain_s = time.perf_counter() - t
        t = time.perf_counter()
        fast = generate(shards, prompt, max_new_tokens=48, accelerator=auto)
        auto_s = time.perf_counter() - t
        rounds.append((plain_s, auto_s, plain.tokens == fast.tokens, len(plain.tokens)))
    option, why = auto.choose(
        shards,
        prompt,
        max_new_tokens=48,
        job_class=__import__(
            "inference_worker.accel.methods", fromlist=["PrecisionClass"]
        ).PrecisionClass.EXACT,
    )
    best_plain = min(r[0] for r in rounds)
    best_auto = min(r[1] for r in rounds)
    n = rounds[0][3]
    out = {
        "prompt_tokens": len(prompt), "new_tokens": n, "auto_option": option, "why": why,
        "plain_tokens_per_s": n / best_plain, "auto_tokens_per_s": n / best_auto,
        "speedup": best_plain / best_auto, "same_tokens": all(r[2] for r in rounds),
    }  # fmt: skip
    print(f"\nauto vs default on SmolLM2 ({len(prompt)}-token repeat job, {n} tokens): {out}")
    return out


def compression(prompts: int) -> dict:
    import torch
    from transformers import AutoTokenizer

    from inference_worker.accel.methods import METHODS
    from inference_worker.accel.run import generate_accelerated
    from inference_worker.accel.weights import layer_bytes, load_method_shards
    from inference_worker.models import prepare_smollm2

    path = prepare_smollm2()
    tok = AutoTokenizer.from_pretrained(str(path))
    texts = corpus()
    sentences = [s.strip() + "." for t in texts for s in t.split(". ") if 60 <= len(s) <= 200]
    sentences = sentences[:prompts]
    held_out = " ".join(texts[-6:])
    calib = tok(" ".join(texts[:3]))["input_ids"][:512]
    ppl_ids = tok(held_out)["input_ids"][:1024]
    fp32 = load_method_shards(path, [(0, 30)], METHODS["plain"])
    models = {"fp32": fp32}
    models["bf16"] = load_method_shards(path, [(0, 30)], METHODS["bf16"])
    models["int8mix"] = load_method_shards(
        path, [(0, 30)], METHODS["int8mix"], calibration_ids=calib
    )
    outliers = sum(int(m.outliers.numel()) for layer in models["int8mix"][0].parts.layers
                   for m in layer.modules() if hasattr(m, "w_outliers"))  # fmt: skip

    @torch.inference_mode()
    def logits(shards, ids):  # (seq, vocab) teacher-forced
        x = torch.tensor([ids])
        h = shards[0].forward(shards[0].embed(x))
        return shards[0].head(h, last_only=False)[0].float()

    # fp32 greedy continuations (8 tokens) of every prompt
    conts = []
    for s in sentences:
        ids = tok(s)["input_ids"]
        conts.append(
            (
                ids,
                generate_accelerated(
                    fp32, ids, METHODS["plain"], max_new_tokens=8, eos_ids=set()
                ).tokens,
            )
        )
    result = {"prompts": len(sentences), "int8_outlier_columns": outliers}
    for name, shards in models.items():
        first_same = all_same = pos_same = pos = 0
        for ids, cont in conts:
            full = ids + cont
            pred = logits(shards, full)[len(ids) - 1 : len(full) - 1].argmax(-1).tolist()
            first_same += pred[0] == cont[0]
            all_same += pred == cont
            pos_same += sum(a == b for a, b in zip(pred, cont, strict=True))
            pos += len(cont)
        nll, count = 0.0, 0
        for start in range(0, len(ppl_ids) - 1, 256):
            chunk = ppl_ids[start : start + 257]
            lp = torch.log_softmax(logits(shards, chunk[:-1]), -1)
            nll -= float(lp[torch.arange(len(chunk) - 1), torch.tensor(chunk[1:])].sum())
            count += len(chunk) - 1
        t = time.perf_counter()
        gen = generate_accelerated(
            shards, conts[0][0], METHODS["plain"], max_new_tokens=32, eos_ids=set()
        )
        secs = time.perf_counter() - t
        per_layer = layer_bytes(shards[0])
        result[name] = {
            "layer_bytes": per_layer[0], "all_layers_bytes": sum(per_layer),
            "tokens_per_s": len(gen.tokens) / secs,
            "first_token_agreement": first_same / len(conts),
            "all_8_tokens_agreement": all_same / len(conts),
            "teacher_forced_token_agreement": pos_same / pos,
            "perplexity": math.exp(nll / count), "perplexity_tokens": count,
        }  # fmt: skip
    print(f"\ncompression on SmolLM2, {len(conts)} prompts, int8 outlier columns kept: {outliers}")
    print(
        f"{'weights':8} {'layer MB':>9} {'tok/s':>7} {'1st':>6} {'all 8':>6} {'pos':>6} {'ppl':>8}"
    )
    for name in models:
        r = result[name]
        print(
            f"{name:8} {r['layer_bytes'] / 1e6:9.2f} {r['tokens_per_s']:7.1f} "
            f"{r['first_token_agreement']:6.3f} {r['all_8_tokens_agreement']:6.3f} "
            f"{r['teacher_forced_token_agreement']:6.3f} {r['perplexity']:8.3f}"
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", type=Path, default=SHIPPED_TABLE)
    parser.add_argument("--skip-auto", action="store_true")
    parser.add_argument("--skip-compression", action="store_true")
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--only-compression", action="store_true")
    args = parser.parse_args()
    if args.only_compression:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        load = os.getloadavg()
        result = compression(args.prompts)
        result["load"] = [load, os.getloadavg()]
        COMPRESSION.write_text(json.dumps(result, indent=1))
        print(f"load average before {load}, after {os.getloadavg()}; wrote {COMPRESSION}")
        return
    report = {"load_before": os.getloadavg(), "table": str(args.table)}
    report["selection"] = selection(args.table)
    if not args.skip_auto:
        report["auto_vs_default"] = auto_vs_default(args.table)
    if not args.skip_compression:
        report["compression"] = compression(args.prompts)
        COMPRESSION.write_text(json.dumps(report["compression"], indent=1))
    elif COMPRESSION.exists():  # measured by an earlier run (--only-compression)
        report["compression"] = json.loads(COMPRESSION.read_text())
    report["load_after"] = os.getloadavg()
    print(f"\nload average before {report['load_before']}, after {report['load_after']}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
