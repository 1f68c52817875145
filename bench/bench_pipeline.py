"""The activation pipeline on SmolLM2-135M-Instruct (CPU): 3 worker processes vs one process.

    python bench/bench_pipeline.py [--quick] [--new-tokens 64] [--repeats 3] [--threads 2]

Measures, float32 and greedy:
* single process: our in-process driver with the whole model as one shard (`generate`), the
  decode rate (tokens/s after the first token) and the time to first token;
* pipeline: three worker processes on 127.0.0.1 serving layers [0,10), [10,21), [21,30), the
  first hop driving the route (`Pipeline.Generate`), every hop boundary a gRPC stream; the same
  rates seen by the client, and their ratio to the single process;
* CPU milliseconds per generated token: this process for the single run, the three workers
  together for the pipeline (from /proc), which load from other processes disturbs less than
  wall time (the "CPU ratio" column: single-process CPU per token / this row's, the
  throughput ratio the pipeline reaches when the machine is not shared);
* per wire codec: the bytes one decode step puts on the wire at one hop boundary (the
  serialized HopFrame: codec payload plus frame fields), the total the first hop sent per
  generated token (prefill included), and whether the tokens equal the fp32 tokens.

Configurations take turns for `--repeats` rounds and medians are reported, so load from other
processes on the machine hits them alike. Every worker gets `--threads` torch threads; only one
hop computes at a time, so the processes do not compete for the cores.

Prints a table and writes bench/results/pipeline.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import chain.pb  # noqa: E402, F401  (puts the generated `infera` package on sys.path)

import torch  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

from infera.worker.v1 import pipeline_pb2 as pb  # noqa: E402
from inference_worker.models import prepare_smollm2  # noqa: E402
from inference_worker.pipeline.codec import CODECS, encode  # noqa: E402
from inference_worker.pipeline.generate import generate  # noqa: E402
from inference_worker.pipeline.shard import load_shard  # noqa: E402
from tests.inference_worker.pipeline_harness import (  # noqa: E402
    generate_request,
    run_generate,
    start_workers,
    stop_all,
)

RESULTS = Path(__file__).resolve().parent / "results" / "pipeline.json"
SPANS = [(0, 10), (10, 21), (21, 30)]
QUESTION = "What is the capital of France? Answer in one sentence, then explain why."


def decode_rate(tokens: int, first_s: float, total_s: float) -> float:
    """Tokens per second after the first token."""
    return (tokens - 1) / (total_s - first_s) if tokens > 1 and total_s > first_s else 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def step_frame_bytes(hidden_size: int, codec: str) -> int:
    """Serialized size of one decode step's HopFrame at a hop boundary (1 position)."""
    data = encode(torch.randn(1, 1, hidden_size), codec)
    hidden = pb.HiddenStates(
        session=pb.SessionKey(job_id=1, route_index=0),
        step=100,
        position=200,
        shape=[1, 1, hidden_size],
        data=data,
    )
    return pb.HopFrame(hidden=hidden).ByteSize()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer tokens and rounds")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads per process")
    args = parser.parse_args()
    if args.quick:
        args.new_tokens, args.repeats = 24, 1
    torch.set_num_threads(args.threads)
    model_dir = prepare_smollm2()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    messages = [{"role": "user", "content": QUESTION}]
    prompt = list(
        tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)[
            "input_ids"
        ]
    )
    whole = [load_shard(model_dir, 0, 30)]
    hidden_size = whole[0].hidden_size
    options = {"threads": args.threads}
    workers = start_workers(
        [(f"hop{i}", model_dir, "smollm2", a, b, options) for i, (a, b) in enumerate(SPANS)]
    )
    hops = [w.hop() for w in workers]
    pids = [w.proc.pid for w in workers]
    runs: dict[str, list[dict]] = {"single": []} | {f"pipeline-{c}": [] for c in CODECS}
    tokens: dict[str, list[int]] = {}
    try:
        for codec in CODECS:  # warm up every worker and codec once
            run_generate(
                workers[0].endpoint, generate_request("smollm2", hops, prompt, 4, codec=codec)
            )
        generate(whole, prompt, max_new_tokens=4, eos_ids=set())
        for round_ in range(args.repeats):
            cpu = time.process_time()
            result = generate(whole, prompt, max_new_tokens=args.new_tokens, eos_ids=set())
            runs["single"].append(
                {
                    "ttft_s": result.time_to_first_token_s,
                    "decode_tok_s": result.decode_tokens_per_s,
                    "total_s": result.total_s,
                    "cpu_ms_per_token": (time.process_time() - cpu) * 1000 / len(result.tokens),
                }
            )
            tokens["single"] = result.tokens
            for codec in CODECS:
                request = generate_request(
                    "smollm2", hops, prompt, args.new_tokens, job_id=100 + round_, codec=codec
                )
                cpu = cpu_seconds(pids)
                out = run_generate(workers[0].endpoint, request)
                cpu = cpu_seconds(pids) - cpu
                if out.error is not None or out.done is None:
                    raise SystemExit(f"pipeline run failed: {out.error}")
                times = out.token_times
                runs[f"pipeline-{codec}"].append(
                    {
                        "ttft_s": times[0],
                        "decode_tok_s": decode_rate(len(times), times[0], times[-1]),
                        "total_s": times[-1],
                        "driver_ttft_s": out.done.time_to_first_token_us / 1e6,
                        "wire_bytes_per_token": out.done.wire_bytes / len(out.tokens),
                        "cpu_ms_per_token": cpu * 1000 / len(out.tokens),
                    }
                )
                tokens[f"pipeline-{codec}"] = out.tokens
    finally:
        stop_all(workers)

    def median(name: str, field: str) -> float:
        return statistics.median(r[field] for r in runs[name])

    single_rate = median("single", "decode_tok_s")
    single_cpu = median("single", "cpu_ms_per_token")
    rows = []
    for name in runs:
        codec = name.removeprefix("pipeline-") if name != "single" else None
        row = {
            "configuration": name,
            "decode_tok_s": round(median(name, "decode_tok_s"), 2),
            "ratio_to_single": round(median(name, "decode_tok_s") / single_rate, 3),
            "ttft_ms": round(median(name, "ttft_s") * 1000, 1),
            "cpu_ms_per_token": round(median(name, "cpu_ms_per_token"), 1),
            "cpu_ratio_to_single": round(single_cpu / median(name, "cpu_ms_per_token"), 3),
            "tokens_equal_single": tokens[name] == tokens["single"],
        }
        if codec is not None:
            row["step_bytes_per_boundary"] = step_frame_bytes(hidden_size, codec)
            row["first_hop_bytes_per_token"] = round(median(name, "wire_bytes_per_token"))
        rows.append(row)
    print(
        f"SmolLM2-135M, prompt {len(prompt)} tokens, {args.new_tokens} new tokens, "
        f"{args.threads} torch threads per process, median of {args.repeats}"
    )
    header = f"{'configuration':<18}{'tok/s':>8}{'ratio':>7}{'TTFT ms':>9}{'CPU ms/tok':>11}{'CPU ratio':>10}"
    print(header + f"{'B/step/boundary':>17}{'B/token hop0':>14}{'= single':>10}")
    for row in rows:
        print(
            f"{row['configuration']:<18}{row['decode_tok_s']:>8.2f}{row['ratio_to_single']:>7.3f}"
            f"{row['ttft_ms']:>9.1f}{row['cpu_ms_per_token']:>11.1f}"
            f"{row['cpu_ratio_to_single']:>10.3f}"
            f"{row.get('step_bytes_per_boundary', ''):>17}"
            f"{row.get('first_hop_bytes_per_token', ''):>14}{row['tokens_equal_single']!s:>10}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "model": "smollm2-135m-instruct",
        "spans": SPANS,
        "prompt_tokens": len(prompt),
        "new_tokens": args.new_tokens,
        "repeats": args.repeats,
        "threads_per_process": args.threads,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "torch": torch.__version__,
        "rows": rows,
        "runs": runs,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
