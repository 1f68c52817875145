"""How far apart are the last hops' fingerprints of two routes that agree on the tokens?

    python bench/measure_divergence.py [--jobs 30] [--new-tokens 32] [--smollm2 10]

The numbers behind the agreement params divergence_full_precision / divergence_half_precision
(modules/agreement/divergence.py). A reference route (tiny llama, fp32, 1 thread, spans [0,2)
[2,4) [4,5)) and a second route run the same prompt (`evidence.generate_claim`, as workers run
routes); when both produce the same tokens, their last hops' own fingerprints (late probe seed,
so the same for both) are compared with the chain's integer rule, reporting the largest chunk
distance (`fingerprint.chunk_distances`). Second routes: honest (2 threads; other span
boundaries; bf16) and cheating routes that scale (x1.05) or noise (5 % of RMS) the hidden states
at hop 0, 1 or 2. The same for SmolLM2-135M-Instruct (chat prompts; spans [0,10) [10,21)
[21,30); cheats at hop 1). Jobs whose tokens differ are counted, not compared: they go to a
dispute (or, with r >= 3, an outvoted route makes the job audited).

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
from bench.verification_jobs import (  # noqa: E402
    QUESTIONS,
    SMOLLM2_SPANS,
    chat_prompt,
    load_route,
)
from chain.fixed import Decimal  # noqa: E402
from inference_worker.verify.adversary import ComputeAttack, ComputeMode  # noqa: E402
from inference_worker.verify.evidence import generate_claim, reveal_payload  # noqa: E402
from inference_worker.verify.fingerprint import (  # noqa: E402
    chunk_distances,
    decode_fingerprint,
    derive_probe_seed,
)
from modules.agreement import divergence  # noqa: E402
from modules.agreement.params import default_params  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


F32, BF16 = torch.float32, torch.bfloat16
SCALE = ComputeAttack(ComputeMode.SCALE, scale=1.05)
NOISE = ComputeAttack(ComputeMode.NOISE, noise_std=0.05, seed=17)


def tiny_variants(model_dir: Path) -> dict[str, tuple[list, int, str]]:
    """name -> (shards, torch threads, precision class) for the tiny llama."""
    out = {
        "honest: 2 threads": (load_route(model_dir, SPANS), 2, "full"),
        "honest: other span boundaries": (load_route(model_dir, OTHER_SPANS), 1, "full"),
        "honest: bf16 (other spans)": (
            load_route(model_dir, OTHER_SPANS, dtypes=[BF16] * 3),
            1,
            "half",
        ),
    }
    for hop in range(len(SPANS)):
        out[f"cheat: scale x1.05 at hop {hop}"] = (
            load_route(model_dir, SPANS, attacks={hop: SCALE}),
            1,
            "full",
        )
        out[f"cheat: noise 5% at hop {hop}"] = (
            load_route(model_dir, SPANS, attacks={hop: NOISE}),
            1,
            "full",
        )
    return out


def smollm2_variants(model_dir: Path) -> dict[str, tuple[list, int, str]]:
    spans = SMOLLM2_SPANS
    return {
        "SmolLM2 honest: 2 threads": (load_route(model_dir, spans), 2, "full"),
        "SmolLM2 honest: bf16": (load_route(model_dir, spans, dtypes=[BF16] * 3), 1, "half"),
        "SmolLM2 cheat: scale x1.05 at hop 1": (
            load_route(model_dir, spans, attacks={1: SCALE}),
            1,
            "full",
        ),
        "SmolLM2 cheat: noise 5% at hop 1": (
            load_route(model_dir, spans, attacks={1: NOISE}),
            1,
            "full",
        ),
    }


def measure(reference, table, prompts, new_tokens: int, tolerances) -> dict[str, dict]:
    """Per second route: how many jobs agreed on the tokens, their last-hop distances, and how
    many of those the chain's rule (divergence.diverge) audits."""
    rows: dict[str, dict] = {
        name: {"same_tokens": 0, "distances": [], "diverged": 0} for name in table
    }
    for job, prompt in enumerate(prompts):
        seed = derive_probe_seed(job + 1)
        torch.set_num_threads(1)
        base = generate_claim(reference, prompt, max_new_tokens=new_tokens, probe_seed=seed)
        for name, (route, threads, precision) in table.items():
            torch.set_num_threads(threads)
            other = generate_claim(route, prompt, max_new_tokens=new_tokens, probe_seed=seed)
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
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--smollm2", type=int, default=10, help="SmolLM2 prompts (0: none)")
    args = parser.parse_args()
    params = default_params()
    tolerances = {
        "full": Decimal.parse(params.divergence_full_precision),
        "half": Decimal.parse(params.divergence_half_precision),
    }
    started = time.monotonic()
    rng = random.Random("divergence")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, _ = tiny_model_dirs(Path(tmp))
        prompts = [
            [rng.randrange(3, 96) for _ in range(rng.randint(4, 32))] for _ in range(args.jobs)
        ]
        rows = measure(
            load_route(model_dir, SPANS),
            tiny_variants(model_dir),
            prompts,
            args.new_tokens,
            tolerances,
        )
    if args.smollm2:
        from transformers import AutoTokenizer

        from inference_worker.models import prepare_smollm2

        smol_dir = prepare_smollm2()
        tokenizer = AutoTokenizer.from_pretrained(str(smol_dir))
        questions = (QUESTIONS * 4)[: args.smollm2]
        rows |= measure(
            load_route(smol_dir, SMOLLM2_SPANS),
            smollm2_variants(smol_dir),
            [list(chat_prompt(tokenizer, q)) for q in questions],
            args.new_tokens,
            tolerances,
        )
    print(
        f"\nLast-hop fingerprint distance between agreeing routes (tiny llama {args.jobs} jobs, "
        f"SmolLM2 {args.smollm2}; {args.new_tokens} new tokens, greedy; tolerances full "
        f"{params.divergence_full_precision}, "
        f"half {params.divergence_half_precision})"
    )
    print(
        f"  {'second route':36s} {'same tokens':>11s} {'min':>7s} {'median':>7s} {'max':>7s} {'audited':>8s}"
    )
    for name, row in rows.items():
        d = sorted(row["distances"])
        if d:
            stats = f"{d[0]:7.4f} {d[len(d) // 2]:7.4f} {d[-1]:7.4f}"
        else:
            stats = f"{'-':>7s} {'-':>7s} {'-':>7s}"
        print(f"  {name:36s} {row['same_tokens']:11d} {stats} {row['diverged']:8d}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "divergence.json"
    out.write_text(
        json.dumps(
            {
                "jobs": args.jobs,
                "smollm2_prompts": args.smollm2,
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
