"""Adversaries on chain: does the CHAIN slash the guilty hop, and never an honest one?

    python bench/bench_onchain_adversaries.py [--quick] [--jobs 50] [--new-tokens 32] [ROW ...]

bench_verification.py measures the verifier alone (which hop it names); this measures what the
chain application does with the same evidence. Every job runs through the real `InferaApp`
(bench/onchain_jobs.py: ABCI blocks with signed txs, routes assigned by the chain, one validator
whose verifier sidecar votes through vote extensions) with real compute on a tiny seeded llama
(5 layers; 3 hops [0,2) [2,4) [4,5)). A fresh chain per row; jobs alternate greedy and seeded
sampling, prompts of 4..32 random printable bytes, `--new-tokens` tokens each.

Adversary rows: in job i the worker the chain placed on route (i // 3) mod r, hop i mod 3 cheats
(compute modes: it serves an adversarial shard; protocol modes: it misbehaves on chain as
adversary.py's ProtocolMode says). Collusion: every worker of all routes but route i mod 3 reveals
one lie (r = 3, two colluding routes reach the 2-of-3 quorum); the chain catches it only by an
audit, so that row sets the genesis param audit_probability = 1 (the other rows keep the default
0.05, and a collusion row at the default shows what that buys). A compute cheat too small to
change the output leaves the replicas agreeing on the tokens, but its route's last-hop
fingerprint diverges from the honest replica's, so the chain audits the job anyway
(modules/agreement/divergence.py; column "div": audits opened that way); the "audit p=1" rows of
scale and noise show that the random draw adds nothing there.

Honest rows: no adversary; replicas in torch threads (route 0 one thread, route 1 two), or a
pool of fp32 and bf16 workers on the same spans (each job runs in one precision class, fixed at
assignment, so its replicas share a precision).

Everything counted is read from chain state: stake (slashes), reputation, balances (payouts:
balance change plus the fees the worker's txs paid), tx result codes, JobHistory (dispute, audit,
delivered output); "blk" is the most blocks a job took from submission to settled. Prints a
table and writes bench/results/onchain_adversaries.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.onchain_jobs import (  # noqa: E402
    SPANS,
    JobOutcome,
    OnChain,
    Scenario,
    pool,
    quiet_logs,
    tiny_model_dirs,
)
from inference_worker.verify.adversary import ComputeAttack, ComputeMode, ProtocolMode  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "onchain_adversaries.json"


def scenarios(new_tokens: int, impostor: Path) -> list[Scenario]:
    fp32 = pool(SPANS, 3)  # 9 workers, 3 per span

    def compute(name: str, attack: ComputeAttack, **kw: Any) -> Scenario:
        return Scenario(name, fp32, attack=attack, **kw, new_tokens=new_tokens)

    def protocol(name: str, mode: ProtocolMode, **kw: Any) -> Scenario:
        return Scenario(name, kw.pop("workers", fp32), protocol=mode, **kw, new_tokens=new_tokens)

    return [
        compute("skip_layer (span's last)", ComputeAttack(ComputeMode.SKIP_LAYER)),
        compute(
            "skip_layer, r=3 (cheat outvoted)",
            ComputeAttack(ComputeMode.SKIP_LAYER),
            redundancy=3,
        ),
        compute("scale x1.05", ComputeAttack(ComputeMode.SCALE, scale=1.05)),
        compute("noise 5% of RMS", ComputeAttack(ComputeMode.NOISE, noise_std=0.05, seed=17)),
        compute(
            "wrong_model (seed 4321)",
            ComputeAttack(ComputeMode.WRONG_MODEL, impostor_dir=str(impostor)),
        ),
        compute(
            "scale x1.05, audit p=1",
            ComputeAttack(ComputeMode.SCALE, scale=1.05),
            audit_probability="1",
        ),
        compute(
            "noise 5% of RMS, audit p=1",
            ComputeAttack(ComputeMode.NOISE, noise_std=0.05, seed=17),
            audit_probability="1",
        ),
        *evidence_attacks(compute),
        *issue14_rows(compute, protocol),
        protocol("copy_reveal", ProtocolMode.COPY_REVEAL),
        protocol("never_reveal", ProtocolMode.NEVER_REVEAL),
        protocol("reveal_late (1 block)", ProtocolMode.REVEAL_LATE),
        protocol(
            "collude, 2 of 3 routes, audit p=1",
            ProtocolMode.COLLUDE,
            workers=pool(SPANS, 4),
            redundancy=3,
            audit_probability="1",
        ),
        protocol(
            "collude, 2 of 3 routes, audit p=0.05",
            ProtocolMode.COLLUDE,
            workers=pool(SPANS, 4),
            redundancy=3,
        ),
        # no "fp32 vs bf16 replicas" row any more: a job runs in one precision class (fixed at
        # assignment), so its replicas never differ in precision; one fp32 and one bf16 worker
        # per span cannot serve r = 2 ("not enough active workers"). The mixed row below is a
        # pool of both.
        Scenario(
            "honest: 1 vs 2 threads replicas",
            fp32,
            route_threads=(1, 2),
            honest=True,
            new_tokens=new_tokens,
        ),
        Scenario(
            "honest: mixed fp32/bf16 workers",
            pool(SPANS, 2) + pool(SPANS, 2, "bfloat16"),
            honest=True,
            new_tokens=new_tokens,
        ),
    ]


def issue14_rows(compute: Any, protocol: Any) -> list[Scenario]:
    """The attacks of issue 14. Starvation: an attacker keeps 64 decoy disputes open
    (onchain_play.Decoys: every verification slot) that the validators abstain on. Framing:
    clip_shift on the tiny llama with two massive residual channels (the plain one has no
    channel beyond the clip, so the shift did nothing there); probe_orthogonal with the late
    probes predicted from the honest output, at 1 % and 10 % of RMS, and one whose noise is
    halved until the output is the predicted one (onchain_jobs `Scenario.keep_output`)."""
    window = (("audit_window_blocks", "4"),)  # verdict windows short enough to run out here
    skip = ComputeAttack(ComputeMode.SKIP_LAYER)
    scale = ComputeAttack(ComputeMode.SCALE, scale=1.05)

    def predicted(noise_std: float) -> ComputeAttack:  # the harness predicts the late seed
        return ComputeAttack(
            ComputeMode.PROBE_ORTHOGONAL, noise_std=noise_std, seed=22, late_probe_seed=0
        )

    return [
        compute("starve: 64 decoy disputes, skip_layer", skip, decoys=64, agreement=window),
        compute("starve: 64 decoys, scale x1.05, p=1", scale, decoys=64,
                agreement=window, audit_probability="1"),
        compute("skip_layer, 4 validators, 1 silent", skip, validators=4, silent_validators=1,
                agreement=window),
        compute("skip_layer, 4 validators, 2 silent (>1/3)", skip, validators=4,
                silent_validators=2, agreement=window),
        compute("clip_shift 20%, massive channels",
                ComputeAttack(ComputeMode.CLIP_SHIFT, shift=0.2), massive=True),
        compute("probe_orthogonal 1%, late probes predicted", predicted(0.01)),
        compute("probe_orthogonal 10%, late probes predicted", predicted(0.1)),
        compute("probe_orthogonal 10%, predicted, output kept", predicted(0.1), keep_output=True),
        compute("probe_orthogonal 10%, predicted, output kept, frames withheld", predicted(0.1),
                keep_output=True, withhold_frames=True),
        compute("skip_layer, withhold after peeking", skip, play="peek_withhold"),
        protocol("inconsistent route (one hop misreports)", ProtocolMode.HONEST,
                 play="inconsistent"),
        protocol("short deadline (reveal_end + 1)", ProtocolMode.HONEST, play="short_deadline",
                 guilty="route", deadline_blocks=7, inference=(("min_deadline_blocks", "1"),)),
        compute("int8 weights", ComputeAttack(ComputeMode.INT8_WEIGHTS)),
        compute("int5 weights", ComputeAttack(ComputeMode.INT5_WEIGHTS)),
        compute("steer (last hop, gap < 0.6), greedy", ComputeAttack(ComputeMode.STEER),
                guilty="last_hop", greedy_only=True),
        *calibrated_rows(compute),
    ]  # fmt: skip


# bench/calibrate_tolerances.py on the tiny llama, fp32 (200 honest jobs over AVX-512 / AVX2
# kernels and 1 / 2 threads, largest honest distance 0.00255, margin 2): the model's
# registration carries it (Model.verifier_tolerances)
TINY_FP32_TOLERANCE = (("float32", 10208, 5104),)


def calibrated_rows(compute: Any) -> list[Scenario]:
    """Issue 14, "Catch cheaper compute": the model registers its calibrated fp32 tolerance, so
    validators (and the chain's divergence rule) use it instead of the class defaults. Steering
    when nobody disagrees: one route (r = 1), or every route's last hop steering alike."""
    steer = ComputeAttack(ComputeMode.STEER)
    return [
        compute("int8 weights, calibrated model tolerance", ComputeAttack(ComputeMode.INT8_WEIGHTS),
                tolerances=TINY_FP32_TOLERANCE),
        compute("int5 weights, calibrated model tolerance", ComputeAttack(ComputeMode.INT5_WEIGHTS),
                tolerances=TINY_FP32_TOLERANCE),
        compute("steer, r=1 (nobody disagrees)", steer, guilty="last_hop", greedy_only=True,
                redundancy=1),
        compute("steer, every route's last hop, r=2", steer, guilty="last_hops",
                greedy_only=True),
    ]  # fmt: skip


def evidence_attacks(compute: Any) -> list[Scenario]:
    """Noise orthogonal to the job's public probes (keeps the hop's own fingerprint), where
    adversary.py has it. Its sibling lie_fingerprint (noisy states sent, honest ones signed) has
    no row: with signed frames the honest receiving hop refuses its first frame
    (frames.FrameEvidenceError) inside the pipeline, so the route produces nothing to commit;
    what the chain then does depends on how workers report that, not on this harness."""
    if "probe_orthogonal" not in {m.value for m in ComputeMode}:
        return []
    attack = ComputeAttack(ComputeMode("probe_orthogonal"), noise_std=0.2, seed=22)
    return [compute("probe_orthogonal (noise 20%)", attack)]  # probe_seed: set per job


def summarize(scenario: Scenario, outcomes: list[JobOutcome], decoys: Any = None) -> dict:
    jobs = len(outcomes)
    row: dict = {
        "jobs": jobs,
        "redundancy": scenario.redundancy,
        "audit_probability": scenario.audit_probability or "default (0.05)",
        "disputed": sum(o.disputed for o in outcomes),
        "audited": sum(o.audited for o in outcomes),
        "audited_for_divergence": sum(o.diverged for o in outcomes),
        "outputs_differ": sum(o.outputs_differ for o in outcomes),
        "honest_hops_slashed": sum(len(o.honest_slashed) for o in outcomes),
        "honest_hops_reputation_lowered": sum(len(o.honest_reputation_dropped) for o in outcomes),
        "honest_routes_paid": sum(o.honest_routes_paid for o in outcomes),
        "honest_output_delivered": sum(o.honest_output_delivered for o in outcomes),
        "states": _count(o.state for o in outcomes),
        "blocks_max": max((o.blocks for o in outcomes), default=0),  # submission to settled
    }
    if scenario.decoys:  # what the attacker got into blocks (OnChain.block: none dropped)
        row["decoys_submitted"] = decoys.submitted
        row["decoy_txs_included"] = decoys.txs_sent
    if scenario.honest:
        return row
    detected = [o for o in outcomes if o.slashed_guilty]
    exact = [o for o in detected if not o.honest_slashed]
    row |= {
        "detected": len(detected),
        "detection_rate": len(detected) / jobs,
        "slashed_only_guilty": len(exact),
        "attribution_rate": len(exact) / jobs,
        "guilty_hops": sum(len(o.guilty) for o in outcomes),
        "guilty_hops_slashed": sum(sum(w in o.slashed for w in o.guilty) for o in outcomes),
        "guilty_paid": sum(all(o.paid.get(w, 0) > 0 for w in o.guilty) for o in outcomes),
        "guilty_reputation_lowered": sum(
            all(w in o.reputation_dropped for w in o.guilty) for o in outcomes
        ),
        "cheat_txs_rejected": _count(
            f"{space}/{code}" for o in outcomes for _, space, code in o.rejected
        ),
        "undetected_jobs": [
            {
                "job_id": o.job_id,
                "state": o.state,
                "outputs_differ": o.outputs_differ,
                "audited": o.audited,
                "guilty": o.guilty_positions,
            }
            for o in outcomes
            if not o.slashed_guilty
        ],  # fmt: skip
    }
    return row


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return dict(sorted(out.items()))


def run_row(scenario: Scenario, jobs: int, root: Path, model_dir: Path, impostor: Path) -> tuple:
    onchain = OnChain(root, scenario, model_dir, impostor)
    same_jobs = scenario.name.removesuffix(", frames withheld")  # as its row with the frames
    rng = random.Random(f"onchain/{same_jobs}")
    outcomes = [onchain.run_job(index, rng) for index in range(jobs)]
    onchain.chain.store.close()
    return summarize(scenario, outcomes, getattr(onchain, "decoys", None)), outcomes


def print_table(rows: dict) -> None:
    print("\nAdversaries (tiny llama, 3 hops, fresh chain per row; counts over jobs)")
    head = (
        f"  {'mode':38s} {'r':>1s} {'jobs':>4s} {'disp':>4s} {'aud':>4s} {'div':>4s} {'detected':>9s} "
        f"{'slashed=guilty':>15s} {'honest slashed':>15s} {'honest rep-':>11s} "
        f"{'honest paid':>11s} {'rejected':>10s} {'blk':>4s}"
    )
    print(head)
    for name, r in rows.items():
        if "detected" not in r:
            continue
        rejected = ",".join(f"{n}x{c}" for c, n in r["cheat_txs_rejected"].items()) or "-"
        print(
            f"  {name:38s} {r['redundancy']:1d} {r['jobs']:4d} {r['disputed']:4d} "
            f"{r['audited']:4d} {r.get('audited_for_divergence', 0):4d} "
            f"{r['detection_rate']:9.0%} {r['attribution_rate']:15.0%} "
            f"{r['honest_hops_slashed']:15d} {r['honest_hops_reputation_lowered']:11d} "
            f"{r['honest_routes_paid']:11d} {rejected:>10s} {r.get('blocks_max', 0):4d}"
        )
    print("\nHonest variation (no adversary)")
    print(
        f"  {'variation':38s} {'jobs':>4s} {'outputs differ':>14s} {'disputed':>8s} "
        f"{'audited':>7s} {'false slashes':>13s} {'rep lowered':>11s} {'all paid':>8s} "
        f"{'delivered':>9s}"
    )
    for name, r in rows.items():
        if "detected" in r:
            continue
        print(
            f"  {name:38s} {r['jobs']:4d} {r['outputs_differ']:14d} {r['disputed']:8d} "
            f"{r['audited']:7d} {r['honest_hops_slashed']:13d} {r['honest_hops_reputation_lowered']:11d} "
            f"{r['honest_routes_paid']:8d} {r['honest_output_delivered']:9d}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="6 jobs per row")
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("rows", nargs="*", help="only rows whose name contains one of these")
    args = parser.parse_args()
    torch.set_num_threads(1)  # workers and validator: one intra-op thread unless a row says
    quiet_logs()
    jobs = 6 if args.quick else args.jobs
    started = time.perf_counter()
    results: dict = {"torch": torch.__version__, "jobs_per_row": jobs,
                     "new_tokens": args.new_tokens, "rows": {}, "jobs": {}}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, impostor = tiny_model_dirs(Path(tmp))
        for index, scenario in enumerate(scenarios(args.new_tokens, impostor)):
            if args.rows and not any(w in scenario.name for w in args.rows):
                continue
            clock = time.perf_counter()
            row, outcomes = run_row(scenario, jobs, Path(tmp) / f"row{index}", model_dir, impostor)
            row["seconds"] = time.perf_counter() - clock
            results["rows"][scenario.name] = row
            results["jobs"][scenario.name] = [asdict(o) for o in outcomes]
            print(f"{scenario.name}: {row['seconds']:.0f} s", flush=True)
    results["seconds"] = time.perf_counter() - started
    if args.rows and RESULTS.is_file():  # a partial run updates the rows it ran
        previous = json.loads(RESULTS.read_text())
        for key in ("rows", "jobs"):
            results[key] = {**previous.get(key, {}), **results[key]}
    print_table(results["rows"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {RESULTS} ({results['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
