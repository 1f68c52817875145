"""How often does an HONEST sampled bf16 route fail the verifier's output check?

    python bench/measure_bf16_sampling.py [--jobs 250] [--new-tokens 32]

Tiny llama (seed 1234), a bf16 route over hops [0,1) [1,3) [3,5) run with 2 torch threads,
seeded sampling (temperature 0.7 or 1.0 alternating, top-k 20), prompts of 4..32 random tokens;
each claim is checked by `verifier.verify_route` with a bf16 reference (1 thread), default
tolerances. Reports the failures (an honest route that fails is not paid) with their gaps.

Prints a table, writes bench/results/bf16_sampling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.onchain_jobs import OTHER_SPANS, tiny_model_dirs  # noqa: E402
from bench.verification_jobs import load_route  # noqa: E402
from inference_worker.pipeline.generate import Sampling  # noqa: E402
from inference_worker.verify.evidence import generate_claim  # noqa: E402
from inference_worker.verify.fingerprint import derive_probe_seed  # noqa: E402
from inference_worker.verify.verifier import ReferenceModel, verify_route  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "bf16_sampling.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=250)
    parser.add_argument("--new-tokens", type=int, default=32)
    args = parser.parse_args()
    started = time.monotonic()
    rng = random.Random("bf16-sampling")
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, _ = tiny_model_dirs(Path(tmp))
        route = load_route(model_dir, OTHER_SPANS, dtypes=[torch.bfloat16] * 3)
        reference = ReferenceModel.load(model_dir, (torch.bfloat16,))
        for job in range(args.jobs):
            prompt = [rng.randrange(3, 96) for _ in range(rng.randint(4, 32))]
            sampling = Sampling(seed=rng.getrandbits(64), temperature=(0.7, 1.0)[job % 2], top_k=20)
            torch.set_num_threads(2)
            claim = generate_claim(
                route,
                prompt,
                max_new_tokens=args.new_tokens,
                probe_seed=derive_probe_seed(job + 1),
                sampling=sampling,
            )
            torch.set_num_threads(1)
            verdict = verify_route(reference, claim)
            if not verdict.ok:
                failures.append(
                    {
                        "job": job,
                        "reason": verdict.output.reason,
                        "max_gap": verdict.output.max_gap,
                        "culprit": verdict.culprit_hop,
                    }
                )
    print(f"\nHonest sampled bf16 routes, {args.jobs} jobs x {args.new_tokens} tokens:")
    print(f"  failed the check: {len(failures)}")
    for failure in failures:
        print(f"    {failure}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "jobs": args.jobs,
                "new_tokens": args.new_tokens,
                "torch": torch.__version__,
                "failed": failures,
            },
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS} ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
