"""Acceleration through the networked pipeline: SmolLM2-135M served by hop processes (real gRPC,
signed frames), the same job under each worker setting, tokens/s and tokens compared.

    python bench/bench_accel_route.py [--hops 2] [--workload shared] [--rounds 2] [--new 48]
        [--settings plain,auto,fixed:prefix/t1] [--out bench/results/accel_route.json]
    python bench/bench_accel_route.py --hops 1 --workload repeat \
        --settings plain,auto,fixed:pld10/t1 --out bench/results/accel_route_one_hop.json

Per round and setting, fresh hop processes (``--hops 2``: layers [0, 15) and [15, 30); ``1``:
one process serving all 30 layers, the route's only hop), all with the same
``acceleration``, serve a warm-up job and then the measured job. Workloads: ``shared`` (a
scikit-learn paragraph + a question, then the same paragraph + another question: about 90 %
of the measured prompt was prefilled by the warm-up, for prefix caching), ``repeat`` (another
paragraph, then "repeat this text exactly" + the paragraph: prompt lookup's food). The
measured job is driven by the first hop through the Generate RPC (route.drive_route with
the hop's accelerator). Settings alternate within a round; each setting's figure is its best
round (the host is shared: the load average before and after is recorded). tokens/s = new
tokens / total route time (prefill included). The structlog line of each hop's choice for
the measured job is kept (``chosen``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OUT = REPO / "bench" / "results" / "accel_route.json"
MODEL = "smollm2"
SPANS = ((0, 15), (15, 30))


# --- a hop process ----------------------------------------------------------------------------


async def serve(model_dir: str, start: int, end: int, setting: str, name: str) -> None:
    from inference_worker.accel.hop import HopAccelerator
    from inference_worker.pipeline.frames import FrameSigner
    from inference_worker.pipeline.server import HostedSpan, start_server
    from inference_worker.pipeline.shard import load_shard

    accel = HopAccelerator(setting) if setting != "plain" else None
    shard = load_shard(model_dir, start, end)
    span = HostedSpan(MODEL, shard, model_dir=Path(model_dir), accel=accel)
    signer = FrameSigner(hashlib.sha256(name.encode()).digest())
    server, service, port = await start_server(
        [span], "127.0.0.1:0", frame_signer=signer, require_signed_frames=True
    )
    print(f"port {port}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await service.shutdown()
    await server.stop(grace=1)


# --- the parent -------------------------------------------------------------------------------


def start_hops(
    model_dir: Path, setting: str, tag: str, spans: tuple[tuple[int, int], ...]
) -> list[tuple[subprocess.Popen, int, str, tuple[int, int]]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = []
    for k, (a, b) in enumerate(spans):
        name = f"bench-accel:{tag}:{k}"
        proc = subprocess.Popen(
            [sys.executable, __file__, "--hop", str(model_dir), str(a), str(b), setting, name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
        )  # fmt: skip
        procs.append((proc, name, (a, b)))
    out = []
    for proc, name, span in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"hop {name} did not start: {line!r}")
        out.append((proc, int(line.split()[1]), name, span))
    return out


def stop_hops(hops) -> list[str]:
    """Stop the hops; the structlog lines saying which option each chose for job 2."""
    for proc, *_ in hops:
        if proc.stdin is not None:
            proc.stdin.close()
    chosen = []
    for proc, *_ in hops:
        assert proc.stdout is not None
        out = proc.stdout.read()  # to the end: the hop exits once its stdin closed
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        chosen += [
            " ".join(ln.split()[2:])
            for ln in out.splitlines()
            if "accel.hop_session" in ln and "job=2" in ln
        ]
    return chosen


async def run_job(hops, job_id: int, prompt: list[int], new: int) -> dict:
    import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

    import grpc

    from chain.crypto import to_bech32
    from infera.worker.v1 import pipeline_pb2 as pb
    from infera.worker.v1 import pipeline_pb2_grpc as pb_grpc
    from inference_worker.pipeline.frames import FrameSigner

    route = [
        pb.Hop(
            worker=to_bech32(FrameSigner(hashlib.sha256(name.encode()).digest()).address),
            endpoint=f"127.0.0.1:{port}",
            layer_start=a,
            layer_end=b,
        )  # fmt: skip
        for _, port, name, (a, b) in hops
    ]
    request = pb.GenerateRequest(
        session=pb.SessionKey(job_id=job_id), model_id=MODEL, hops=route,
        max_new_tokens=new, ignore_eos=True, codec="fp32", prompt_ids=prompt,
    )  # fmt: skip
    tokens, stats = [], None
    started = time.perf_counter()
    async with grpc.aio.insecure_channel(route[0].endpoint) as channel:
        async for event in pb_grpc.PipelineStub(channel).Generate(request, timeout=600):
            if event.HasField("token"):
                tokens.append(int(event.token.token_id))
            elif event.HasField("done"):
                stats = event.done
            elif event.HasField("error"):
                raise RuntimeError(event.error.message)
    wall = time.perf_counter() - started
    assert stats is not None
    total = stats.total_us / 1e6
    return {
        "tokens": tokens, "total_s": round(total, 4), "wall_s": round(wall, 4),
        "ttft_ms": round(stats.time_to_first_token_us / 1000, 1),
        "tokens_per_s": round(len(tokens) / total, 3),
    }  # fmt: skip


def prompts(tok, round_index: int, workload: str) -> tuple[list[int], list[int]]:
    """(warm-up job, measured job): `shared` = a paragraph + two questions, `repeat` = another
    paragraph, then "repeat this text exactly" + the paragraph (prompt lookup's food)."""
    from inference_worker.accel.bench import corpus

    texts = corpus()
    doc = texts[round_index % len(texts)][:700]
    other = texts[(round_index + 1) % len(texts)][:400]

    def encode(text: str) -> list[int]:
        ids = tok.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True
        )
        return [int(t) for t in (ids["input_ids"] if hasattr(ids, "keys") else ids)]

    if workload == "repeat":
        return encode(other), encode(f"Repeat this text exactly:\n\n{doc[:400]}")
    return encode(f"{doc}\n\nWhat is this about?"), encode(f"{doc}\n\nWhich numbers are given?")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--new", type=int, default=48)
    parser.add_argument("--settings", default="plain,auto,fixed:prefix/t1")
    parser.add_argument("--hops", type=int, choices=(1, 2), default=2)
    parser.add_argument("--workload", choices=("shared", "repeat"), default="shared")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--hop", nargs=5, metavar=("DIR", "START", "END", "SETTING", "NAME"))
    args = parser.parse_args()
    if args.hop:
        directory, a, b, setting, name = args.hop
        asyncio.run(serve(directory, int(a), int(b), setting, name))
        return
    from transformers import AutoTokenizer

    from inference_worker.models import prepare_smollm2

    model_dir = prepare_smollm2()
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    settings = args.settings.split(",")
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {s: [] for s in settings}
    for r in range(args.rounds):
        warm, prompt = prompts(tok, r, args.workload)
        shared = next(i for i, (x, y) in enumerate(zip(warm, prompt, strict=False)) if x != y)
        order = settings if r % 2 == 0 else settings[::-1]
        for setting in order:
            hops = start_hops(
                model_dir, setting, f"{r}:{setting}", SPANS if args.hops == 2 else ((0, 30),)
            )
            try:
                asyncio.run(run_job(hops, 1, warm, 2))
                result = asyncio.run(run_job(hops, 2, prompt, args.new))
            finally:
                chosen = stop_hops(hops)
            result.update(round=r, prompt_tokens=len(prompt), shared_prefix=shared, chosen=chosen)
            runs[setting].append(result)
            print(f"round {r} {setting:18} {result['tokens_per_s']:7.2f} tok/s  "
                  f"ttft {result['ttft_ms']:7.1f} ms  load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    load_after = os.getloadavg()
    plain = runs.get("plain")
    summary = {}
    for setting, results in runs.items():
        best = max(results, key=lambda x: x["tokens_per_s"])
        entry = {
            "best_tokens_per_s": best["tokens_per_s"], "best_ttft_ms": best["ttft_ms"],
            "all_tokens_per_s": [x["tokens_per_s"] for x in results],
        }  # fmt: skip
        if plain:
            base = max(plain, key=lambda x: x["tokens_per_s"])
            entry["speedup_vs_plain"] = round(best["tokens_per_s"] / base["tokens_per_s"], 3)
            entry["same_tokens_as_plain"] = all(
                x["tokens"] == p["tokens"] for x, p in zip(results, plain, strict=True)
            )
        summary[setting] = entry
    print(f"\n{'setting':18} {'tok/s':>7} {'ttft ms':>8} {'vs plain':>9} same tokens")
    for setting, e in summary.items():
        print(f"{setting:18} {e['best_tokens_per_s']:7.2f} {e['best_ttft_ms']:8.1f} "
              f"{e.get('speedup_vs_plain', 0):8.2f}x {e.get('same_tokens_as_plain')}")  # fmt: skip
    report = {
        "model": "SmolLM2-135M-Instruct", "hops": args.hops, "workload": args.workload,
        "new_tokens": args.new,
        "rounds": args.rounds, "settings": summary, "runs": runs,
        "loadavg_before": load_before, "loadavg_after": load_after,
        "cores": os.cpu_count(), "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
