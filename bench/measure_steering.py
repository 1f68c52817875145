"""Near-tie steering that no route disagrees with (issue 14, item 5; VERIFICATION.md, "What
this does not catch"): a last hop that sends the runner-up token whenever the top-2 gap of its
logits is under `--gap` logits, on a route no other route contradicts (r = 1, or every route
steered alike). How often does the output change while the claim still passes?

    python bench/measure_steering.py [--jobs 200] [--gap 0.6] [--smollm2 10]
                                     [--dtypes bfloat16,float32]

Tiny llama (3 hops, greedy, prompts of verification_jobs.tiny_jobs, 64 new tokens) and, with
--smollm2 N, SmolLM2-135M (N chat prompts, 32 new tokens). Each job runs twice: an honest
route and one whose last hop steers; both through `verify_route` with the default
`VerifierParams`. "steered and passing" = the steered output differs from the honest one and
its claim passes. Writes bench/results/steering.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.measure_weight_quantization import smollm2_jobs  # noqa: E402
from bench.verification_jobs import (  # noqa: E402
    SMOLLM2_SPANS,
    TINY_SPANS,
    Job,
    load_route,
    threads,
    tiny_jobs,
    tiny_model_dirs,
)
from inference_worker.verify.adversary import ComputeAttack, ComputeMode  # noqa: E402
from inference_worker.verify.evidence import generate_claim  # noqa: E402
from inference_worker.verify.verifier import ReferenceModel, verify_route  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "steering.json"


def run(model_dir, reference, spans, jobs: list[Job], dtype, gap: float) -> dict:
    honest = load_route(model_dir, spans, dtypes=[dtype] * len(spans))
    steer = ComputeAttack(ComputeMode.STEER, steer_gap=gap)
    steered = load_route(model_dir, spans, dtypes=[dtype] * len(spans), attacks={2: steer})
    counts = {"jobs": len(jobs), "changed": 0, "changed_and_passing": 0, "honest_failed": 0}
    first_changes = []
    for job in jobs:
        with threads(1):
            runs = [
                generate_claim(
                    shards,
                    job.prompt,
                    max_new_tokens=job.max_new_tokens,
                    probe_seed=job.probe_seed,
                )  # fmt: skip
                for shards in (honest, steered)
            ]
            verdicts = [verify_route(reference, claim) for claim in runs]
        counts["honest_failed"] += not verdicts[0].ok
        if runs[1].tokens != runs[0].tokens:
            counts["changed"] += 1
            counts["changed_and_passing"] += verdicts[1].ok
            first_changes.append(_first_difference(runs[0].tokens, runs[1].tokens))
    counts["first_changed_position_median"] = (
        sorted(first_changes)[len(first_changes) // 2] if first_changes else None
    )
    return counts


def _first_difference(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """The first output position where two outputs differ (the shorter one's length when one
    is a prefix of the other)."""
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.6)
    parser.add_argument("--smollm2", type=int, default=0)
    parser.add_argument("--dtypes", default="bfloat16,float32")
    args = parser.parse_args()
    dtypes = [getattr(torch, name) for name in args.dtypes.split(",")]
    started, out = time.time(), {}
    rows = []
    if args.jobs:
        honest_dir, _ = tiny_model_dirs(Path("/tmp/infera-bench-models"))
        jobs = [replace(j, sampling=None) for j in tiny_jobs(args.jobs, seed=31)]
        rows.append(("tiny", honest_dir, TINY_SPANS, jobs))
    if args.smollm2:
        model_dir, jobs = smollm2_jobs(args.smollm2)
        rows.append(("smollm2", model_dir, SMOLLM2_SPANS, jobs))
    for name, model_dir, spans, jobs in rows:
        reference = ReferenceModel.load(model_dir, dtypes)
        for dtype in dtypes:
            row = run(model_dir, reference, spans, jobs, dtype, args.gap)
            out[f"{name} {dtype}"] = row
            print(f"{name} {dtype}: {row}", flush=True)
    out["seconds"] = round(time.time() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2))
    print(f"{out['seconds']} s; wrote {RESULTS}")


if __name__ == "__main__":
    main()
