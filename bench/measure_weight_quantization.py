"""Cheaper compute than declared: int8 / int5 group-wise weights on every hop, against honest
routes of the same precision class (issue 14, item 5; VERIFICATION.md, "Cheaper compute").

    python bench/measure_weight_quantization.py [--jobs 200] [--cheat-jobs 60] [--smollm2 10]
                                                [--dtypes float32,bfloat16]

Tiny llama (3 hops, the bench jobs of verification_jobs.py: greedy and seeded sampling) and,
with --smollm2 N, SmolLM2-135M (3 hops, N chat prompts, 32 new tokens, greedy). Every route
is recomputed by `verify_route` with the default `VerifierParams`: "detected" counts cheating
jobs whose claim fails, "false failures" honest jobs whose claim fails (honest route at 2
threads, validator at 1). Distances are the largest chunk distance of each hop (min / median /
max over jobs). Writes bench/results/weight_quantization.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.verification_jobs import (  # noqa: E402
    QUESTIONS,
    SMOLLM2_SPANS,
    TINY_SPANS,
    Job,
    chat_prompt,
    load_route,
    threads,
    tiny_jobs,
    tiny_model_dirs,
)
from inference_worker.verify.adversary import ComputeAttack, ComputeMode  # noqa: E402
from inference_worker.verify.evidence import generate_claim  # noqa: E402
from inference_worker.verify.verifier import ReferenceModel, verify_route  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "weight_quantization.json"
MODES = {
    "honest": None,
    "int8 weights": ComputeAttack(ComputeMode.INT8_WEIGHTS),
    "int5 weights": ComputeAttack(ComputeMode.INT5_WEIGHTS),
}


def run_row(model_dir, reference, spans, jobs: list[Job], dtype, attack) -> dict:
    """Every job of one (dtype, mode) row through generate_claim and verify_route."""
    attacks = {k: attack for k in range(len(spans))} if attack is not None else None
    shards = load_route(model_dir, spans, dtypes=[dtype] * len(spans), attacks=attacks)
    failed, distances, gaps = 0, [], []
    for job in jobs:
        with threads(2 if attack is None else 1):
            claim = generate_claim(
                shards, job.prompt, max_new_tokens=job.max_new_tokens,
                probe_seed=job.probe_seed, sampling=job.sampling,
            )  # fmt: skip
        with threads(1):
            verdict = verify_route(reference, claim)
        failed += not verdict.ok
        distances.append([h.distance for h in verdict.hops])
        gaps.append(verdict.output.max_gap)
    per_hop = list(zip(*distances, strict=True))
    return {
        "jobs": len(jobs),
        "failed": failed,
        "distance_min_median_max_per_hop": [
            [round(min(d), 4), round(statistics.median(d), 4), round(max(d), 4)] for d in per_hop
        ],
        "max_gap_median": round(statistics.median(gaps), 3),
    }


def print_row(model: str, dtype, mode: str, row: dict) -> None:
    share = 100 * row["failed"] / row["jobs"]
    what = "false failures" if mode == "honest" else "detected"
    hops = " | ".join(
        "/".join(f"{x:.4f}" for x in h) for h in row["distance_min_median_max_per_hop"]
    )
    print(
        f"{model:8s} {str(dtype):15s} {mode:13s} {what} {row['failed']}/{row['jobs']} "
        f"({share:.0f} %)  distances {hops}  median max gap {row['max_gap_median']}",
        flush=True,
    )


def smollm2_jobs(count: int) -> tuple[Path, list[Job]]:
    from transformers import AutoTokenizer

    from inference_worker.models import prepare_smollm2

    model_dir = prepare_smollm2()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(count)]
    jobs = [
        Job(job_id=5000 + i, prompt=chat_prompt(tokenizer, q), sampling=None, max_new_tokens=32)
        for i, q in enumerate(questions)
    ]
    return model_dir, jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200, help="honest tiny jobs per dtype")
    parser.add_argument("--cheat-jobs", type=int, default=60, help="cheating tiny jobs per row")
    parser.add_argument("--smollm2", type=int, default=0, help="SmolLM2 prompts (0: skip)")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    args = parser.parse_args()
    dtypes = [getattr(torch, name) for name in args.dtypes.split(",")]
    started, out = time.time(), {}
    honest_dir, _ = tiny_model_dirs(Path("/tmp/infera-bench-models"))
    reference = ReferenceModel.load(honest_dir, dtypes)
    for dtype in dtypes:
        for mode, attack in MODES.items():
            count = args.jobs if attack is None else args.cheat_jobs
            if not count:
                continue
            jobs = tiny_jobs(count, seed=23)
            row = run_row(honest_dir, reference, TINY_SPANS, jobs, dtype, attack)
            out[f"tiny {dtype} {mode}"] = row
            print_row("tiny", dtype, mode, row)
    if args.smollm2:
        model_dir, jobs = smollm2_jobs(args.smollm2)
        reference = ReferenceModel.load(model_dir, dtypes)
        for dtype in dtypes:
            for mode, attack in MODES.items():
                row = run_row(model_dir, reference, SMOLLM2_SPANS, jobs, dtype, attack)
                out[f"smollm2 {dtype} {mode}"] = row
                print_row("smollm2", dtype, mode, row)
    out["seconds"] = round(time.time() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2))
    print(f"{out['seconds']} s; wrote {RESULTS}")


if __name__ == "__main__":
    main()
