"""Verification: are cheats caught and attributed, do honest replicas pass, what does it cost?

    python bench/bench_verification.py [--quick] [--jobs 60] [--cost-prompts 5]
        [--sections cheating,evidence,honest,cost] [--rows SUBSTRING ...]

* Cheating (tiny llama, 3 hops, fp32): for each adversary mode, `--jobs` jobs (prompts of 1..48
  tokens, 64 new tokens, greedy and seeded sampling alternating), the cheating hop being job
  index mod 3; detection rate (the claim fails), attribution rate (the named hop is the
  cheating one) and how often the teacher-forced output check alone fails. Collusion: both
  colluding routes reveal `collusion_tokens` of the honest output; every hop of a colluding
  route is guilty, so any named hop is right.
* Evidence attacks (same jobs, every frame signed, frames.py): a hop that lies in its
  fingerprint (sends 5 % noise, fingerprints and signs the honest states), the lying hop being
  job index mod 2 (a hop with a receiver): without signatures (the protocol before frame
  evidence), with a receiver that checks its frames (the real pipeline), and with a colluding
  receiver that accepts them (then the receiver is guilty too); and noise orthogonal to the
  public probes (10 %, RMS kept), which its own and its signed rows do not show.
* Honest variation (same jobs): another thread count between route and validator, bf16
  routes, fp32 and bf16 replicas of each job, a mixed-precision route, the int8 wire codec;
  false failures (the claim fails) and false accusations (a hop is named).
* Cost (SmolLM2-135M, 64 greedy tokens through 3 in-process hops): time of the teacher-forced
  check alone and of the full route check (plus fingerprints), each over generation time;
  fingerprint bytes per 32 tokens.

Default tolerances (`VerifierParams()`). Wall-clock timings on a shared machine: the ratio
uses medians, and CPU time (process_time) is reported alongside.
Prints a table and writes bench/results/verification.json; a run limited with --sections or
--rows updates only the rows it ran in that file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
    chat_prompt,
    load_route,
    threads,
    tiny_jobs,
    tiny_model_dirs,
)
from inference_worker.pipeline.frames import FrameEvidenceError, FrameSigner  # noqa: E402
from inference_worker.verify.adversary import ComputeAttack, ComputeMode, collusion_tokens  # noqa: E402
from inference_worker.verify.evidence import generate_claim  # noqa: E402
from inference_worker.verify.fingerprint import CHUNK, HEADER  # noqa: E402
from inference_worker.verify.verifier import (  # noqa: E402
    ReferenceModel,
    VerifierParams,
    verify_output,
    verify_route,
)

RESULTS = Path(__file__).resolve().parent / "results" / "verification.json"
F32, BF16 = torch.float32, torch.bfloat16
KEYS = [FrameSigner(bytes([k + 1]) * 32) for k in range(3)]  # the hops' worker keys
SECTIONS = ("cheating", "evidence", "honest", "cost")


def claim_for(shards, job, **kw):
    return generate_claim(
        shards,
        job.prompt,
        max_new_tokens=job.max_new_tokens,
        probe_seed=job.probe_seed,
        sampling=job.sampling,
        **kw,
    )


def selected(name: str, rows: list[str] | None) -> bool:
    return rows is None or any(r.lower() in name.lower() for r in rows)


def evidence(model_dir: Path, jobs, reference: ReferenceModel, rows=None) -> dict:
    """Attacks on the evidence itself (module docstring); signed frames unless a row says."""
    lie = ComputeAttack(ComputeMode.LIE_FINGERPRINT, noise_std=0.05, seed=21)
    attacks = {  # name: (attack, keys, unchecked receiver offset or None, guilty offsets)
        "lying fingerprint 5%, unsigned (before)": (lie, None, None, (0,)),
        "lying fingerprint 5%, signed, receiver checks": (lie, KEYS, None, (0,)),
        "lying fingerprint 5%, signed, colluding receiver": (lie, KEYS, 1, (0, 1)),
    }
    out = {}
    for name, (attack, keys, unchecked, guilty_offsets) in attacks.items():
        if selected(name, rows):
            out[name] = evidence_row(model_dir, jobs, reference, attack, keys, unchecked,
                                     guilty_offsets)  # fmt: skip
    for std in (0.1,):
        name = f"probe-orthogonal noise {std:.0%}, signed"
        if selected(name, rows):
            out[name] = evidence_row(model_dir, jobs, reference, "orthogonal", KEYS, None, (0,))
    return out


def evidence_row(model_dir, jobs, reference, attack, keys, unchecked, guilty_offsets) -> dict:
    counts = [0, 0, 0, 0]  # detected, guilty hop named, honest hop named, output failed
    rejected = 0  # frames refused at receipt, naming the lying hop (no claim is made)
    for index, job in enumerate(jobs):
        liar = index % 2
        hop_attack = attack
        if attack == "orthogonal":
            hop_attack = ComputeAttack(
                ComputeMode.PROBE_ORTHOGONAL, noise_std=0.1, seed=22, probe_seed=job.probe_seed
            )
        shards = load_route(model_dir, TINY_SPANS, attacks={liar: hop_attack})
        receivers = frozenset() if unchecked is None else frozenset({liar + unchecked})
        try:
            claim = claim_for(shards, job, job_id=job.job_id, keys=keys,
                              unchecked_receivers=receivers)  # fmt: skip
        except FrameEvidenceError as err:
            rejected += err.sender_hop == liar
            counts[0] += 1
            counts[1] += err.sender_hop == liar
            counts[2] += err.sender_hop != liar
            continue
        verdict = verify_route(reference, claim)
        tally(counts, verdict, guilty_hops={liar + g for g in guilty_offsets})
    return {**row(len(jobs), counts), "rejected_at_receipt": rejected}


def cheating(model_dir: Path, impostor: Path, jobs, reference: ReferenceModel, rows=None) -> dict:
    attacks = {
        "skip a layer (span's last)": ComputeAttack(ComputeMode.SKIP_LAYER),
        "scale hidden x1.05": ComputeAttack(ComputeMode.SCALE, scale=1.05),
        "noise 5% of RMS (seeded)": ComputeAttack(ComputeMode.NOISE, noise_std=0.05, seed=17),
        "noise 20% from position 40": ComputeAttack(
            ComputeMode.NOISE, noise_std=0.2, seed=18, from_position=40
        ),
        "different model (seed 4321)": ComputeAttack(
            ComputeMode.WRONG_MODEL, impostor_dir=str(impostor)
        ),
        "skip a layer, bf16 route": ComputeAttack(ComputeMode.SKIP_LAYER),
        "noise 20%, bf16 route": ComputeAttack(ComputeMode.NOISE, noise_std=0.2, seed=19),
        "framing try: noise 0.8% (under noise)": ComputeAttack(
            ComputeMode.NOISE, noise_std=0.008, seed=20
        ),
    }
    out = {}
    for name, attack in attacks.items():
        if not selected(name, rows):
            continue
        dtype = BF16 if "bf16" in name else F32
        routes = {
            k: load_route(model_dir, TINY_SPANS, dtypes=[dtype] * 3, attacks={k: attack})
            for k in range(3)
        }
        counts = [0, 0, 0, 0]  # detected, guilty hop named, honest hop named, output failed
        for index, job in enumerate(jobs):
            guilty = index % 3
            verdict = verify_route(reference, claim_for(routes[guilty], job))
            tally(counts, verdict, guilty_hops={guilty})
        out[name] = row(len(jobs), counts)
    honest = load_route(model_dir, TINY_SPANS)
    counts = [0, 0, 0, 0]
    if not selected("collusion (same wrong output, 2 routes)", rows):
        return out
    for index, job in enumerate(jobs):
        claim = claim_for(honest, job)
        lie = collusion_tokens(list(claim.tokens), seed=index, vocab_size=96, from_position=16)
        verdict = verify_route(reference, replace(claim, tokens=tuple(lie)))
        tally(counts, verdict, guilty_hops={0, 1, 2})  # every hop of a colluding route lies
    out["collusion (same wrong output, 2 routes)"] = row(len(jobs), counts)
    return out


def tally(counts: list[int], verdict, guilty_hops: set[int]) -> None:
    counts[0] += not verdict.ok
    counts[1] += verdict.culprit_hop in guilty_hops
    counts[2] += verdict.culprit_hop is not None and verdict.culprit_hop not in guilty_hops
    counts[3] += not verdict.output.ok


def row(jobs: int, counts: list[int]) -> dict:
    detected, named, framed, output_failed = counts
    return {
        "jobs": jobs,
        "detected": detected,
        "detection_rate": detected / jobs,
        "guilty_hop_named": named,
        "attribution_rate": named / jobs,
        "honest_hop_named": framed,
        "output_check_failed": output_failed,
    }


def honest(model_dir: Path, jobs, reference: ReferenceModel) -> dict:
    variations = {  # name: ((route dtypes), route threads, validator threads, codec)
        "fp32, route 2 threads / validator 1": ((F32,) * 3, 2, 1, None),
        "fp32, route 1 thread / validator 2": ((F32,) * 3, 1, 2, None),
        "bf16 route, 2 threads / validator 1": ((BF16,) * 3, 2, 1, None),
        "bf16 route, 1 thread / validator 2": ((BF16,) * 3, 1, 2, None),
        "mixed fp32/bf16/fp32 route": ((F32, BF16, F32), 1, 1, None),
        "fp32 route, int8 wire codec": ((F32,) * 3, 1, 1, "int8"),
    }
    out = {}
    claims: dict[str, list] = {}
    for name, (dtypes, route_threads, validator_threads, codec) in variations.items():
        shards = load_route(model_dir, TINY_SPANS, dtypes=dtypes)
        failures = accusations = 0
        claims[name] = []
        for job in jobs:
            with threads(route_threads):
                claim = claim_for(shards, job, codec=codec)
            with threads(validator_threads):
                verdict = verify_route(reference, claim)
            claims[name].append(claim)
            failures += not verdict.ok
            accusations += verdict.culprit_hop is not None
        out[name] = {
            "jobs": len(jobs),
            "false_failures": failures,
            "false_accusations": accusations,
        }
    # fp32 and bf16 replicas of the same job: tokens may diverge at near-ties, both must pass.
    pairs = zip(
        claims["fp32, route 2 threads / validator 1"],
        claims["bf16 route, 2 threads / validator 1"],
        strict=True,
    )
    diverged = sum(a.tokens != b.tokens for a, b in pairs)
    out["fp32 vs bf16 replicas of a job"] = {
        "jobs": len(jobs),
        "false_failures": out["fp32, route 2 threads / validator 1"]["false_failures"]
        + out["bf16 route, 2 threads / validator 1"]["false_failures"],
        "false_accusations": out["fp32, route 2 threads / validator 1"]["false_accusations"]
        + out["bf16 route, 2 threads / validator 1"]["false_accusations"],
        "outputs_differ": diverged,
    }
    return out


def cost(prompts: int) -> dict:
    from transformers import AutoTokenizer

    from inference_worker.models import prepare_smollm2

    model_dir = prepare_smollm2()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    shards = load_route(model_dir, SMOLLM2_SPANS)
    reference = ReferenceModel.load(model_dir, (F32,))
    rows = []
    for index, question in enumerate(QUESTIONS[:prompts]):
        prompt = chat_prompt(tokenizer, question)
        clock = Stopwatch()
        claim = generate_claim(shards, prompt, max_new_tokens=64, probe_seed=index, eos_ids=set())
        generate_s = clock.lap()
        verdict = verify_output(reference, claim)
        output_s = clock.lap()
        route_verdict = verify_route(reference, claim)
        route_s = clock.lap()
        assert verdict.ok and route_verdict.ok, (verdict, route_verdict)
        rows.append(
            {
                "prompt_tokens": len(prompt),
                "generate": generate_s,
                "teacher_forced": output_s,
                "route_check": route_s,
            }
        )
        sizes = [len(h.fingerprint) for h in claim.hops]
        positions = len(claim.sequence)
    out: dict = {"prompts": prompts, "new_tokens": 64, "runs": rows}
    for kind in ("wall", "cpu"):
        gen = statistics.median(r["generate"][kind] for r in rows)
        for check in ("teacher_forced", "route_check"):
            out[f"{check}_over_generation_{kind}"] = statistics.median(
                r[check][kind] / r["generate"][kind] for r in rows
            )
        out[f"generate_median_{kind}_s"] = gen
    out["fingerprint_bytes_per_hop"] = sizes[0]
    out["fingerprint_positions"] = positions
    out["fingerprint_bytes_per_32_tokens"] = (sizes[0] - HEADER.size) * CHUNK / positions
    out["fingerprint_header_bytes"] = HEADER.size
    return out


class Stopwatch:
    """Wall-clock and process CPU seconds since the last lap."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> dict[str, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = {"wall": wall - self.wall, "cpu": cpu - self.cpu}
        self.wall, self.cpu = wall, cpu
        return out


def print_tables(results: dict) -> None:
    print("\nCheating (tiny llama, 3 hops, fp32 unless named, default tolerances)")
    print(
        f"  {'mode':42s} {'jobs':>4s} {'detected':>9s} {'guilty named':>13s} "
        f"{'honest named':>13s} {'output check fails':>19s}"
    )
    for name, r in {**results.get("cheating", {}), **results.get("evidence", {})}.items():
        if "rejected_at_receipt" in r:
            name = f"{name} [refused at receipt: {r['rejected_at_receipt']}]"
        print(
            f"  {name:42s} {r['jobs']:4d} {r['detection_rate']:9.0%} "
            f"{r['attribution_rate']:13.0%} {r['honest_hop_named']:13d} "
            f"{r['output_check_failed']:19d}"
        )
    print("\nHonest variation (same jobs)")
    print(f"  {'variation':42s} {'jobs':>4s} {'false failures':>15s} {'false accusations':>18s}")
    for name, r in results.get("honest", {}).items():
        extra = f"  (outputs differ on {r['outputs_differ']})" if "outputs_differ" in r else ""
        print(
            f"  {name:42s} {r['jobs']:4d} {r['false_failures']:15d} {r['false_accusations']:18d}{extra}"
        )
    c = results.get("cost")
    if c:
        print(f"\nCost (SmolLM2-135M, 64 new tokens, 3 hops, median of {c['prompts']} prompts)")
        print(f"  generation                      {c['generate_median_wall_s']:.2f} s wall")
        for check in ("teacher_forced", "route_check"):
            print(
                f"  {check:30s}  {c[f'{check}_over_generation_wall']:.3f} x generation (wall), "
                f"{c[f'{check}_over_generation_cpu']:.3f} (cpu)"
            )
        print(
            f"  fingerprint: {c['fingerprint_bytes_per_32_tokens']:.0f} bytes per 32 tokens + "
            f"{c['fingerprint_header_bytes']}-byte header ({c['fingerprint_bytes_per_hop']} bytes "
            f"for {c['fingerprint_positions']} positions)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="12 jobs, 1 cost prompt")
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--cost-prompts", type=int, default=5)
    parser.add_argument("--no-cost", action="store_true")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated, of {SECTIONS}"
    )
    parser.add_argument(
        "--rows", action="append", help="only rows whose name holds this (repeatable)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="intra-op threads, but where a row says"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    jobs_count = 12 if args.quick else args.jobs
    cost_prompts = 1 if args.quick else args.cost_prompts
    started = time.perf_counter()
    results: dict = {
        "torch": torch.__version__,
        "threads": args.threads,
        "params": repr(VerifierParams()),
    }
    sections = set(args.sections.split(","))
    if not sections <= set(SECTIONS):
        parser.error(f"--sections: unknown {sorted(sections - set(SECTIONS))}")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, impostor = tiny_model_dirs(Path(tmp))
        jobs = tiny_jobs(jobs_count, seed=99)  # other jobs than the tolerance measurements
        reference = ReferenceModel.load(model_dir, (F32, BF16))
        if "cheating" in sections:
            results["cheating"] = cheating(model_dir, impostor, jobs, reference, args.rows)
        if "evidence" in sections:
            results["evidence"] = evidence(model_dir, jobs, reference, args.rows)
        if "honest" in sections:
            results["honest"] = honest(model_dir, jobs, reference)
    if "cost" in sections and not args.no_cost:
        results["cost"] = cost(cost_prompts)
    results["seconds"] = time.perf_counter() - started
    print_tables(results)
    partial = sections != set(SECTIONS) or args.rows is not None
    if partial and RESULTS.is_file():  # keep the rows this run did not measure
        merged = json.loads(RESULTS.read_text())
        for key, value in results.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key].update(value)
            else:
                merged[key] = value
        results = merged
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {RESULTS} ({results['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
