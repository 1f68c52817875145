"""A pipeline worker in its own process, for the pipeline tests and the benchmark.

    python pipeline_worker.py MODEL_DIR MODEL_ID START END [--threads N] [--step-delay S]
        [--max-frame-bytes N] [--max-sessions N] [--idle-timeout S] [--key-seed TEXT]
        [--require-signed]

Loads layers [START, END), serves the Pipeline service on a free 127.0.0.1 port, prints
``port N`` on stdout once ready, and runs until stdin closes (the test process ended) or it is
killed. ``--step-delay`` sleeps that long in every forward pass, so that a test can act in the
middle of a generation. ``--key-seed`` signs every frame it sends with the key
sha256(TEXT) (frames.py); ``--require-signed`` refuses unsigned frames.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time

import torch

from inference_worker.pipeline.frames import FrameSigner
from inference_worker.pipeline.server import HostedSpan, ServerLimits, start_server
from inference_worker.pipeline.shard import load_shard


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("model_id")
    parser.add_argument("start", type=int)
    parser.add_argument("end", type=int)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--step-delay", type=float, default=0.0)
    parser.add_argument("--max-frame-bytes", type=int, default=ServerLimits.max_frame_bytes)
    parser.add_argument("--max-sessions", type=int, default=ServerLimits.max_sessions)
    parser.add_argument("--idle-timeout", type=float, default=ServerLimits.session_idle_timeout_s)
    parser.add_argument("--key-seed", default="")
    parser.add_argument("--require-signed", action="store_true")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    shard = load_shard(args.model_dir, args.start, args.end)
    if args.step_delay > 0:
        forward = shard.forward

        def slow_forward(*a, **k):  # runs on the compute thread
            time.sleep(args.step_delay)
            return forward(*a, **k)

        shard.forward = slow_forward  # type: ignore[method-assign]
    limits = ServerLimits(
        max_frame_bytes=args.max_frame_bytes,
        max_sessions=args.max_sessions,
        session_idle_timeout_s=args.idle_timeout,
    )
    span = HostedSpan(model_id=args.model_id, shard=shard, model_dir=args.model_dir)
    signer = FrameSigner(hashlib.sha256(args.key_seed.encode()).digest()) if args.key_seed else None
    server, service, port = await start_server(
        [span],
        "127.0.0.1:0",
        limits,
        frame_signer=signer,
        require_signed_frames=args.require_signed,
    )
    print(f"port {port}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # returns when the parent closes stdin
    await service.shutdown()
    await server.stop(grace=1)


if __name__ == "__main__":
    asyncio.run(main(parse()))
