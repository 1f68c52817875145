"""Calibrate a model's verifier tolerances for one precision class, and check them against
cheaper compute (issue 14, "Catch cheaper compute"; VERIFICATION.md, "Per-model tolerances").

    python bench/calibrate_tolerances.py [--model tiny|smollm2] [--dtype float32]
        [--jobs 200] [--cheat-jobs 60] [--new-tokens 32] [--margin 2.0]

Honest claims are generated in subprocesses, one per (CPU kernel set, intra-op threads):
kernels this machine's own choice and AVX2 (``ATEN_CPU_CAPABILITY=avx2`` with oneDNN and MKL
pinned alike, as tests/inference_worker/verify/test_cross_kernel.py does), 1 and 2 threads;
``--jobs`` honest jobs in all, split evenly over the four settings (each job once). Cheating
claims (one subprocess, own kernels, 1 thread): int8 and int5 group-wise weights on ONE hop
(hop = job index mod 3, as bench_onchain_adversaries.py places a cheat) and int8 on every hop.
The parent verifies every claim at 1 thread with this machine's kernels, records each hop's
distance, and sets the tolerance with `tolerances.calibrate_tolerance` (noise = the largest
honest distance x margin, at least the floor; fingerprint = noise x margin; in integer parts
per million as a registration carries them). Then every claim is verified again with the
calibrated params: false failures (honest) and detection (cheating), against the defaults.

Tiny llama: the bench's jobs (prompts of 1..48 random tokens, greedy and seeded sampling
alternating). SmolLM2-135M (hops [0,10) [10,21) [21,30)): chat prompts, greedy. Writes
bench/results/calibrated_tolerances_<model>_<dtype>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.verification_jobs import (  # noqa: E402
    QUESTIONS,
    SMOLLM2_SPANS,
    TINY_SPANS,
    Job,
    chat_prompt,
    load_route,
    tiny_jobs,
    tiny_model_dirs,
)
from inference_worker.verify.adversary import ComputeAttack, ComputeMode  # noqa: E402
from inference_worker.verify.evidence import generate_claim  # noqa: E402
from inference_worker.verify.tolerances import (  # noqa: E402
    VerifierParams,
    calibrate_tolerance,
    with_model_tolerance,
)
from inference_worker.verify.verifier import ReferenceModel, verify_route  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SETTINGS = (("own", 1), ("own", 2), ("avx2", 1), ("avx2", 2))  # (kernels, threads)
CHEATS = {
    "int8 weights, one hop": (ComputeMode.INT8_WEIGHTS, False),
    "int5 weights, one hop": (ComputeMode.INT5_WEIGHTS, False),
    "int8 weights, every hop": (ComputeMode.INT8_WEIGHTS, True),
}
PINS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


def model_and_jobs(model: str, count: int, new_tokens: int, first: int) -> tuple[Path, list, list]:
    """(model folder, spans, jobs first..first+count-1)."""
    if model == "tiny":
        model_dir, _ = tiny_model_dirs(Path("/tmp/infera-bench-models"))
        jobs = tiny_jobs(first + count, seed=29)[first:]
        return model_dir, list(TINY_SPANS), [replace(j, max_new_tokens=new_tokens) for j in jobs]
    from transformers import AutoTokenizer

    from inference_worker.models import prepare_smollm2

    model_dir = prepare_smollm2()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    jobs = [
        Job(job_id=7000 + i, prompt=chat_prompt(tokenizer, QUESTIONS[i % len(QUESTIONS)]),
            sampling=None, max_new_tokens=new_tokens)
        for i in range(first, first + count)
    ]  # fmt: skip
    return model_dir, list(SMOLLM2_SPANS), jobs


def child(args: argparse.Namespace) -> None:
    """Generate one setting's claims and pickle them: [(job index, case, claim)]."""
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    model_dir, spans, jobs = model_and_jobs(args.model, args.count, args.new_tokens, args.first)
    routes: dict = {}
    out = []
    cases = ["honest"] if args.case == "honest" else list(CHEATS)
    for offset, job in enumerate(jobs):
        index = args.first + offset
        for case in cases:
            attacks = None
            if case != "honest":
                mode, every = CHEATS[case]
                hops = range(len(spans)) if every else [index % len(spans)]
                attacks = {k: ComputeAttack(mode) for k in hops}
            key = (case, index % len(spans) if case != "honest" and not CHEATS[case][1] else -1)
            if key not in routes:
                routes[key] = load_route(
                    model_dir, spans, dtypes=[dtype] * len(spans), attacks=attacks
                )
            claim = generate_claim(
                routes[key], job.prompt, max_new_tokens=job.max_new_tokens,
                probe_seed=job.probe_seed, sampling=job.sampling,
            )  # fmt: skip
            out.append((index, case, claim))
    Path(args.out).write_bytes(pickle.dumps(out))


def spawn(args: argparse.Namespace, root: Path, kernels: str, threads: int, case: str,
          first: int, count: int) -> tuple[subprocess.Popen, Path]:  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in PINS}
    if kernels == "avx2":
        env.update(ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2",
                   MKL_ENABLE_INSTRUCTIONS="AVX2")  # fmt: skip
    out = root / f"{case}-{kernels}-{threads}.pkl"
    command = [
        sys.executable, __file__, "--child", "--out", str(out), "--model", args.model,
        "--dtype", args.dtype, "--new-tokens", str(args.new_tokens), "--threads", str(threads),
        "--case", case, "--first", str(first), "--count", str(count),
    ]  # fmt: skip
    return subprocess.Popen(command, env=env), out


def verify_all(reference, claims, params) -> list[dict]:
    rows = []
    for setting, index, case, claim in claims:
        verdict = verify_route(reference, claim, params)
        rows.append({
            "setting": setting, "job": index, "case": case, "ok": verdict.ok,
            "distances": [h.distance for h in verdict.hops], "max_gap": verdict.output.max_gap,
            "culprit": verdict.culprit_hop,
        })  # fmt: skip
    return rows


def tally(rows: list[dict], spans: int) -> dict:
    out: dict = {}
    for case in ["honest", *CHEATS]:
        mine = [r for r in rows if r["case"] == case]
        if not mine:
            continue
        failed = sum(not r["ok"] for r in mine)
        named = sum(
            r["culprit"] is not None and (CHEATS[case][1] or r["culprit"] == r["job"] % spans)
            for r in mine
        ) if case != "honest" else sum(r["culprit"] is not None for r in mine)  # fmt: skip
        out[case] = {"jobs": len(mine), "failed": failed, "named": named}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny", choices=("tiny", "smollm2"))
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--jobs", type=int, default=200, help="honest jobs over all settings")
    parser.add_argument("--cheat-jobs", type=int, default=60)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--margin", type=float, default=2.0)
    parser.add_argument("--parallel", type=int, default=2, help="subprocesses at once")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name in ("--out", "--case"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    for name in ("--threads", "--first", "--count"):
        parser.add_argument(name, type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    started = time.time()
    settings = SETTINGS if platform.machine().lower() in ("x86_64", "amd64") else SETTINGS[:2]
    per = -(-args.jobs // len(settings))
    with tempfile.TemporaryDirectory() as tmp:
        plan = [(f"{k}/{t}", k, t, "honest", i * per, per) for i, (k, t) in enumerate(settings)]
        if args.cheat_jobs:
            plan.append(("own/1", "own", 1, "cheat", 100_000, args.cheat_jobs))
        claims = []
        while plan:
            batch, plan = plan[: args.parallel], plan[args.parallel :]
            running = [(name, *spawn(args, Path(tmp), k, t, c, f, n))
                       for name, k, t, c, f, n in batch]  # fmt: skip
            for name, process, out in running:
                if process.wait() != 0:
                    raise SystemExit(f"claims for {name} failed")
                claims += [(name, *c) for c in pickle.loads(out.read_bytes())]
    torch.set_num_threads(1)
    dtype = getattr(torch, args.dtype)
    model_dir, spans, _ = model_and_jobs(args.model, 0, args.new_tokens, 0)
    reference = ReferenceModel.load(model_dir, (dtype,))
    defaults = VerifierParams()
    rows = verify_all(reference, claims, defaults)
    honest = [d for r in rows if r["case"] == "honest" for d in r["distances"]]
    fingerprint_ppm, noise_ppm = calibrate_tolerance(honest, args.margin)
    calibrated = with_model_tolerance(defaults, dtype, fingerprint_ppm, noise_ppm)
    again = verify_all(reference, claims, calibrated)
    by_setting = {
        s: max((max(r["distances"]) for r in rows if r["setting"] == s and r["case"] == "honest"),
               default=0.0)
        for s in sorted({r["setting"] for r in rows})
    }  # fmt: skip
    per_hop = {
        case: [
            sorted(r["distances"][k] for r in rows if r["case"] == case) for k in range(len(spans))
        ]
        for case in ["honest", *CHEATS]
        if any(r["case"] == case for r in rows)
    }
    result = {
        "model": args.model, "dtype": args.dtype, "torch": torch.__version__,
        "capability": torch.backends.cpu.get_cpu_capability(), "new_tokens": args.new_tokens,
        "margin": args.margin, "honest_max_by_setting": by_setting,
        "honest_max": max(honest, default=0.0),
        "verifier_tolerance": {"dtype": args.dtype, "fingerprint_ppm": fingerprint_ppm,
                               "noise_ppm": noise_ppm},
        "distance_min_median_max_per_hop": {
            case: [[round(h[0], 4), round(h[len(h) // 2], 4), round(h[-1], 4)] for h in hops]
            for case, hops in per_hop.items()
        },
        "defaults": tally(rows, len(spans)),
        "calibrated": tally(again, len(spans)),
        "seconds": round(time.time() - started, 1),
    }  # fmt: skip
    print(json.dumps({k: v for k, v in result.items()}, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"calibrated_tolerances_{args.model}_{args.dtype}.json"
    path.write_text(json.dumps(result | {"rows": again}, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
