"""Benchmark: tokens/s of a split job's generation vs a public job's on the same route shape
(issue 16 item 2, goal: split >= 0.8x public on loopback; docs/split-jobs.md).

Four real worker processes on 127.0.0.1 (tests/inference_worker/pipeline_worker.py, frames
signed and signatures required, one torch thread each). Public: a two-hop route driven by
`Generate` on its first hop, layers [0, m) and [m, L) (the first hop embeds, the last picks the
token). Split: the client (this process, one torch thread) embeds and runs [0, k), two workers
serve [k, m) and [m, L - k'), the client runs [L - k', L) and the head and picks the token
(inference_worker.pipeline.split.drive_split): the same layers in total, one more round trip
per token (client -> hop 1 -> hop 2 -> back relayed through hop 1 -> client, vs hop 1 -> hop 2
-> token back). Runs alternate public / split, same prompt, greedy, the first pair is a warm-up
and dropped. Figures: decode tokens/s (after the first token), tokens/s over the whole run,
time to first token, and the split client's round trip per token (send -> the route's states
back). Also split with r = 2 routes fed the same states (two more workers).

    python bench/bench_split.py                       # SmolLM2-135M, 5 pairs, 32 new tokens
    python bench/bench_split.py --model tiny --pairs 3

Writes bench/results/split.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import chain.pb  # noqa: E402, F401

import torch  # noqa: E402

from inference_worker.pipeline.frames import FrameSigner  # noqa: E402
from inference_worker.pipeline.split import SplitPlan, drive_split, load_split_model  # noqa: E402
from tests.inference_worker.pipeline_harness import (  # noqa: E402
    generate_request,
    run_generate,
    start_workers,
    stop_all,
)

RESULTS = Path(__file__).resolve().parent / "results" / "split.json"
QUESTION = "What is the capital of France? Answer in one sentence, then explain why."


def decode_rate(tokens: int, first_s: float, total_s: float) -> float:
    return (tokens - 1) / (total_s - first_s) if tokens > 1 and total_s > first_s else 0.0


def model_and_prompt(name: str) -> tuple[Path, str, list[int]]:
    if name == "tiny":
        from inference_worker.models import make_tiny_model

        folder = Path(tempfile.mkdtemp(prefix="bench-split-")) / "llama"
        return make_tiny_model("llama", folder, seed=1234), "tiny", list(range(1, 17))
    from transformers import AutoTokenizer

    from inference_worker.models import prepare_smollm2

    model_dir = prepare_smollm2()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    messages = [{"role": "user", "content": QUESTION}]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    return model_dir, "smollm2", list(ids if isinstance(ids, list) else ids["input_ids"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["smollm2", "tiny"], default="smollm2")
    parser.add_argument("--pairs", type=int, default=5, help="measured pairs (plus a warm-up)")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--k", type=int, default=1, help="client front layers")
    parser.add_argument("--tail", type=int, default=1, help="client tail layers k'")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model_dir, model_id, prompt = model_and_prompt(args.model)
    plan = SplitPlan(args.k, args.tail)
    split_model = load_split_model(model_dir, plan)
    layers = split_model.num_layers
    middle = layers // 2
    start, end = plan.served(layers)
    opts = {"threads": 1}
    specs = [
        ("pub-a", model_dir, model_id, 0, middle, opts),
        ("pub-b", model_dir, model_id, middle, layers, opts),
        *[(f"split{r}-a", model_dir, model_id, start, middle, opts) for r in range(2)],
        *[(f"split{r}-b", model_dir, model_id, middle, end, opts) for r in range(2)],
    ]
    workers = start_workers(specs)
    public = [w.hop() for w in workers[:2]]
    routes = [[workers[2].hop(), workers[4].hop()], [workers[3].hop(), workers[5].hop()]]
    signer = FrameSigner(b"\x01" * 32)
    rows: dict[str, list[dict]] = {"public": [], "split-r1": [], "split-r2": []}
    tokens: dict[str, list[int]] = {}

    def run_split(r: int, job_id: int) -> dict:
        result = asyncio.run(
            drive_split(
                split_model, routes[:r], prompt, model_id=model_id, job_id=job_id,
                max_new_tokens=args.new_tokens, signer=signer,
            )
        )  # fmt: skip
        tokens[f"split-r{r}"] = result.tokens
        return {
            "tok_s": len(result.tokens) / result.total_s,
            "decode_tok_s": decode_rate(
                len(result.tokens), result.time_to_first_token_s, result.total_s
            ),
            "ttft_s": result.time_to_first_token_s,
            "round_trip_ms": statistics.median(result.step_round_trip_s[1:]) * 1000,
            "agreed": result.agreed,
        }

    def run_public(job_id: int) -> dict:
        request = generate_request(model_id, public, prompt, args.new_tokens, job_id=job_id)
        out = run_generate(public[0].endpoint, request)
        if out.error is not None:
            raise SystemExit(f"public run failed: {out.error}")
        tokens["public"] = out.tokens
        times = out.token_times
        return {
            "tok_s": len(times) / times[-1],
            "decode_tok_s": decode_rate(len(times), times[0], times[-1]),
            "ttft_s": times[0],
        }

    try:
        for pair in range(args.pairs + 1):
            measured = [
                run_public(1000 + pair),
                run_split(1, 2000 + pair),
                run_split(2, 3000 + pair),
            ]
            if pair > 0:  # the first pair warms up every process
                for name, row in zip(rows, measured, strict=True):
                    rows[name].append(row)
    finally:
        stop_all(workers)

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[name])

    base = median("public", "decode_tok_s")
    print(
        f"{model_id}: {layers} layers, prompt {len(prompt)} tokens, {args.new_tokens} new, "
        f"split k={args.k} k'={args.tail} (workers serve [{start}, {end})), "
        f"median of {args.pairs}, 1 torch thread per process, loopback"
    )
    print(f"{'run':<10}{'decode tok/s':>13}{'ratio':>7}{'tok/s':>8}{'TTFT ms':>9}"
          f"{'round trip ms':>14}{'= public':>10}")  # fmt: skip
    table = []
    for name in rows:
        row = {
            "run": name,
            "decode_tok_s": round(median(name, "decode_tok_s"), 2),
            "ratio_to_public": round(median(name, "decode_tok_s") / base, 3),
            "tok_s": round(median(name, "tok_s"), 2),
            "ttft_ms": round(median(name, "ttft_s") * 1000, 1),
            "round_trip_ms": round(median(name, "round_trip_ms"), 2) if name != "public" else None,
            "tokens_equal_public": tokens[name] == tokens["public"],
        }
        table.append(row)
        trip = "" if row["round_trip_ms"] is None else f"{row['round_trip_ms']:.2f}"
        print(f"{name:<10}{row['decode_tok_s']:>13.2f}{row['ratio_to_public']:>7.3f}"
              f"{row['tok_s']:>8.2f}{row['ttft_ms']:>9.1f}{trip:>14}"
              f"{row['tokens_equal_public']!s:>10}")  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "model": model_id,
        "layers": layers,
        "split": {"k": args.k, "tail": args.tail, "served": [start, end]},
        "prompt_tokens": len(prompt),
        "new_tokens": args.new_tokens,
        "pairs": args.pairs,
        "rows": table,
        "raw": rows,
        "load_average": os.getloadavg(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
