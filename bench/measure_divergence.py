"""How far apart are the last hops' fingerprints of two routes that agree on the tokens?

    python bench/measure_divergence.py [--jobs 30] [--new-tokens 32]

The numbers behind the agreement params divergence_full_precision / divergence_half_precision
(modules/agreement/divergence.py). A reference route (tiny llama, fp32, 1 thread, spans [0,2)
[2,4) [4,5)) and a second route run the same prompt (`evidence.generate_claim`, as workers run
routes); when both produce the same tokens, their last hops' own fingerprints (late probe seed,
so the same for both) are compared with the chain's integer rule, reporting the largest chunk
distance (`fingerprint.chunk_distances`). Second routes: honest (2 threads; other span
boundaries; bf16) and cheating routes that scale (x1.05) or noise (5 % of RMS) the hidden states
at hop 0, 1 or 2. Jobs whose tokens differ are counted, not compared: they go to a dispute.

Prints a table, writes bench/results/divergence.json.
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

from bench.onchain_jobs import OTHER_SPANS, SPANS, tiny_model_dirs  # noqa: E402
from chain.fixed import Decimal  # noqa: E402
from inference_worker.adversary import (  # noqa: E402
    ComputeAttack,
    ComputeMode,
    load_adversarial_shard,
)
from inference_worker.evidence import generate_claim, reveal_payload  # noqa: E402
from inference_worker.fingerprint import (  # noqa: E402
    chunk_distances,
    decode_fingerprint,
    derive_probe_seed,
)
from modules.agreement import divergence  # noqa: E402
from modules.agreement.params import default_params  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def shards(model_dir: Path, spans, dtype=torch.float32, attack=None, hop: int = -1):
    return [
        load_adversarial_shard(
            model_dir, a, b, attack if i == hop else ComputeAttack(), dtype=dtype
        )
        for i, (a, b) in enumerate(spans)
    ]


def variants(model_dir: Path) -> dict[str, tuple[list, int, str]]:
    """name -> (shards, torch threads, precision class)."""
    out = {
        "honest: 2 threads": (shards(model_dir, SPANS), 2, "full"),
        "honest: other span boundaries": (shards(model_dir, OTHER_SPANS), 1, "full"),
        "honest: bf16 (other spans)": (shards(model_dir, OTHER_SPANS, torch.bfloat16), 1, "half"),
    }
    for hop in range(len(SPANS)):
        scale = ComputeAttack(ComputeMode.SCALE, scale=1.05)
        noise = ComputeAttack(ComputeMode.NOISE, noise_std=0.05, seed=17)
        out[f"cheat: scale x1.05 at hop {hop}"] = (
            shards(model_dir, SPANS, None, scale, hop),
            1,
            "full",
        )
        out[f"cheat: noise 5% at hop {hop}"] = (
            shards(model_dir, SPANS, None, noise, hop),
            1,
            "full",
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--new-tokens", type=int, default=32)
    args = parser.parse_args()
    params = default_params()
    tolerances = {
        "full": Decimal.parse(params.divergence_full_precision),
        "half": Decimal.parse(params.divergence_half_precision),
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, _ = tiny_model_dirs(Path(tmp))
        reference = shards(model_dir, SPANS)
        rows = {
            name: {"same_tokens": 0, "distances": [], "diverged": 0} for name in variants(model_dir)
        }
        table = variants(model_dir)
        rng = random.Random("divergence")
        for job in range(args.jobs):
            prompt = [rng.randrange(3, 96) for _ in range(rng.randint(4, 32))]
            seed = derive_probe_seed(job + 1)
            torch.set_num_threads(1)
            base = generate_claim(
                reference, prompt, max_new_tokens=args.new_tokens, probe_seed=seed
            )
            for name, (route, threads, precision) in table.items():
                torch.set_num_threads(threads)
                other = generate_claim(
                    route, prompt, max_new_tokens=args.new_tokens, probe_seed=seed
                )
                if other.tokens != base.tokens:
                    continue
                row = rows[name]
                row["same_tokens"] += 1
                a, b = base.hops[-1].fingerprint, other.hops[-1].fingerprint
                row["distances"].append(
                    float(chunk_distances(decode_fingerprint(a), decode_fingerprint(b)).max())
                )
                row["diverged"] += divergence.diverge(
                    reveal_payload(base, len(base.hops) - 1),
                    reveal_payload(other, len(other.hops) - 1),
                    tolerances[precision],
                )
    torch.set_num_threads(1)
    print(
        f"\nLast-hop fingerprint distance between agreeing routes (tiny llama, {args.jobs} jobs, "
        f"{args.new_tokens} new tokens; tolerances full {params.divergence_full_precision}, "
        f"half {params.divergence_half_precision})"
    )
    print(
        f"  {'second route':32s} {'same tokens':>11s} {'min':>7s} {'median':>7s} {'max':>7s} {'audited':>8s}"
    )
    for name, row in rows.items():
        d = sorted(row["distances"])
        if d:
            stats = f"{d[0]:7.4f} {d[len(d) // 2]:7.4f} {d[-1]:7.4f}"
        else:
            stats = f"{'-':>7s} {'-':>7s} {'-':>7s}"
        print(f"  {name:32s} {row['same_tokens']:11d} {stats} {row['diverged']:8d}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "divergence.json"
    out.write_text(
        json.dumps(
            {
                "jobs": args.jobs,
                "new_tokens": args.new_tokens,
                "torch": torch.__version__,
                "tolerances": {k: str(v.raw / 10**18) for k, v in tolerances.items()},
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out} ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
