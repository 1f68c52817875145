"""Benchmark: tokens/s of sealed jobs vs public jobs on the same route (issue 16, goal: sealed
>= 0.97x public; docs/private-jobs.md).

A real single-validator chain (200 ms timeout_commit) and three real `infera worker run`
processes serving the tiny seeded Llama of the tests on ONE route of three hops (loopback), the
same network as tests/integration/test_sealed_job.py. Jobs alternate public / sealed (so a
change in the shared machine's load hits both alike), same prompt, greedy, redundancy 1, one at
a time. A job's figure is ``output tokens / (finalized - submit started)``, wall clock, polled
every 50 ms: what a user waits for, including the blocks (submit, commit, reveal; the sealed job
also its MsgSealPrompt, sent by the SDK as soon as the routes are known). Also per job: blocks
from submission to the final block, and from the block that opened the rounds (assignment; for
a sealed job its seal) to the final block, which separates the seal's extra round trip from
the generation, commit and reveal. The first pair is a warm-up and dropped. Also measured
in-process: one seal and one open of a prompt box.

    python bench/bench_private_jobs.py            # 8 pairs
    python bench/bench_private_jobs.py --pairs 3

Writes bench/results/private_jobs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import chain.pb  # noqa: E402, F401

from chain import sealing  # noqa: E402
from chain.client import Client  # noqa: E402
from infera.inference.v1 import types_pb2 as T  # noqa: E402

PROMPT = b"Benchmark prompt for sealed and public jobs"
MAX_NEW = 32
DEADLINE = 300


def box_timings(rounds: int = 2000) -> dict[str, float]:
    """Median microseconds of sealing and opening one first-hop box of 256 bytes of room."""
    private = sealing.generate_private_key()
    public = sealing.public_key(private)
    place = sealing.Place("bench", 1, 0, 0, sealing.PURPOSE_PROMPT)
    payload = sealing.encode_prompt_payload(os.urandom(32), PROMPT, 256)
    seal_us, open_us = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        box = sealing.seal(public, payload, place)
        middle = time.perf_counter()
        sealing.open_box(private, box, place)
        seal_us.append((middle - started) * 1e6)
        open_us.append((time.perf_counter() - middle) * 1e6)
    return {"seal_us": statistics.median(seal_us), "open_us": statistics.median(open_us)}


def wait_final(client: Client, job_id: int) -> tuple[float, T.Job]:
    while True:
        job = client.job(job_id)
        if job is not None and job.state in (T.JOB_STATE_FINALIZED, T.JOB_STATE_EXPIRED):
            return time.monotonic(), job
        time.sleep(0.05)


@dataclass(frozen=True)
class Row:
    """One job: wall seconds from submit to FINALIZED, output tokens, blocks from the submit
    block to the final one, and blocks from the block that opened its rounds (assignment, or
    for a sealed job its MsgSealPrompt) to the final one."""

    seconds: float
    tokens: int
    blocks: int
    blocks_after_open: int


def run_public(client: Client, wallet) -> Row:
    started = time.monotonic()
    result = client.submit_job(
        wallet, model_id="tiny-llama", prompt=PROMPT, max_new_tokens=MAX_NEW, max_fee=10_000,
        redundancy=1, deadline_blocks=DEADLINE,
        decoding=T.Decoding(mode=T.DECODING_MODE_GREEDY),
    )  # fmt: skip
    job_id = int(result.attribute("infera.job_submitted", "job_id") or 0)
    done, job = wait_final(client, job_id)
    assert job.state == T.JOB_STATE_FINALIZED, job.reason
    tokens = len(client.job_history(job_id).outputs[0].tokens)
    return Row(done - started, tokens, job.final_height - job.submit_height,
               job.final_height - job.assign_height)  # fmt: skip


def run_sealed(client: Client, wallet) -> Row:
    started = time.monotonic()
    submission = client.run_sealed_job(
        wallet, model_id="tiny-llama", prompt=PROMPT, max_new_tokens=MAX_NEW, max_fee=10_000,
        redundancy=1, deadline_blocks=DEADLINE,
        decoding=T.Decoding(mode=T.DECODING_MODE_GREEDY), pad_to=64,
    )  # fmt: skip
    done, job = wait_final(client, submission.job_id)
    assert job.state == T.JOB_STATE_FINALIZED, job.reason
    tokens = client.sealed_output(submission.job_id, submission.secrets)
    assert tokens is not None
    return Row(done - started, len(tokens), job.final_height - job.submit_height,
               job.final_height - job.sealed.sealed_height)  # fmt: skip


def summary(rows: list[Row]) -> dict[str, float]:
    rates = [r.tokens / r.seconds for r in rows]
    return {
        "jobs": len(rows),
        "tokens_per_job": statistics.median(r.tokens for r in rows),
        "latency_s_median": round(statistics.median(r.seconds for r in rows), 3),
        "tokens_per_s_median": round(statistics.median(rates), 3),
        "tokens_per_s_mean": round(statistics.fmean(rates), 3),
        "blocks_median": statistics.median(r.blocks for r in rows),
        "blocks_after_rounds_open_median": statistics.median(r.blocks_after_open for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=8)
    args = parser.parse_args()
    from tests.integration.test_sealed_job import sealed_network

    results: dict[str, list[Row]] = {"public": [], "sealed": []}
    with tempfile.TemporaryDirectory() as tmp, sealed_network(Path(tmp)) as net:
        client, wallet = net["client"], net["wallet"]
        for pair in range(args.pairs + 1):
            public = run_public(client, wallet)
            sealed = run_sealed(client, wallet)
            if pair:  # the first pair warms up
                results["public"].append(public)
                results["sealed"].append(sealed)
            print(f"pair {pair}: public {public}, sealed {sealed}", flush=True)
    public, sealed = summary(results["public"]), summary(results["sealed"])
    report = {
        "public": public,
        "sealed": sealed,
        "ratio_tokens_per_s_median": round(
            sealed["tokens_per_s_median"] / public["tokens_per_s_median"], 3
        ),
        "boxes": box_timings(),
        "max_new_tokens": MAX_NEW,
        "machine": {
            "cpus": os.cpu_count(),
            "load_1m": os.getloadavg()[0],
            "python": platform.python_version(),
        },  # fmt: skip
    }
    print(json.dumps(report, indent=2))
    out = Path(__file__).resolve().parent / "results" / "private_jobs.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
