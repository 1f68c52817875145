"""Pipeline workers as separate processes on 127.0.0.1, and a Generate client (tests, bench)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import chain.pb  # noqa: F401  (puts the generated `infera` package on sys.path)

import grpc

from infera.worker.v1 import pipeline_pb2 as pb
from infera.worker.v1 import pipeline_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("pipeline_worker.py")


class WorkerProcess:
    """A running pipeline_worker.py serving one span."""

    def __init__(
        self,
        model_dir: Path,
        model_id: str,
        start: int,
        end: int,
        *,
        name: str,
        threads: int = 1,
        args: Sequence[str] = (),
        signed: bool = True,
    ):
        """`signed`: sign frames with a key derived from `name` and refuse unsigned ones."""
        sign = ["--key-seed", f"infera-test:{name}", "--require-signed"] if signed else []
        self.name, self.start, self.end = name, start, end
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": str(threads),
        }
        command = [sys.executable, str(WORKER), str(model_dir), model_id, str(start), str(end)]
        self.proc = subprocess.Popen(
            [*command, "--threads", str(threads), *sign, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.port = 0

    def wait_ready(self) -> WorkerProcess:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"worker {self.name} did not start (exit {self.proc.poll()})")
        self.port = int(line.split()[1])
        return self

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def hop(self) -> pb.Hop:
        return pb.Hop(
            worker=self.name, endpoint=self.endpoint, layer_start=self.start, layer_end=self.end
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Ask it to exit (close stdin), kill it if it does not within a few seconds."""
        if self.proc.poll() is None:
            self.resume()
            assert self.proc.stdin is not None
            try:
                if not self.proc.stdin.closed:
                    self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, OSError):
                self.proc.kill()
                self.proc.wait(timeout=30)


def start_workers(specs: Iterable[tuple[str, Path, str, int, int, dict]]) -> list[WorkerProcess]:
    """Start workers in parallel: (name, model_dir, model_id, start, end, options) each."""
    workers: list[WorkerProcess] = []
    try:
        for name, model_dir, model_id, start, end, options in specs:
            workers.append(WorkerProcess(model_dir, model_id, start, end, name=name, **options))
        for worker in workers:
            worker.wait_ready()
    except BaseException:
        stop_all(workers)
        raise
    return workers


def stop_all(workers: Iterable[WorkerProcess]) -> None:
    """Stop workers in parallel: close every stdin first, then wait (kill the stragglers)."""
    workers = list(workers)
    for worker in workers:
        if worker.proc.poll() is None and worker.proc.stdin is not None:
            worker.resume()
            with contextlib.suppress(OSError):
                worker.proc.stdin.close()
    for worker in workers:
        worker.stop()


@dataclass
class Generation:
    """What a Generate call streamed back."""

    tokens: list[int]
    done: pb.GenerateStats | None
    error: pb.SessionError | None
    token_times: list[float]  # seconds since the call started, per token


def generate_request(
    model_id: str,
    hops: Sequence[pb.Hop],
    prompt: Sequence[int] | bytes,
    max_new_tokens: int,
    *,
    job_id: int = 1,
    route_index: int = 0,
    candidates: Sequence[pb.Hop] = (),
    codec: str = "fp32",
    decoding: pb.Decoding | None = None,
    progress_timeout_ms: int = 0,
    ignore_eos: bool = True,
) -> pb.GenerateRequest:
    request = pb.GenerateRequest(
        session=pb.SessionKey(job_id=job_id, route_index=route_index),
        model_id=model_id,
        hops=list(hops),
        candidates=list(candidates),
        max_new_tokens=max_new_tokens,
        ignore_eos=ignore_eos,
        codec=codec,
        progress_timeout_ms=progress_timeout_ms,
    )
    if isinstance(prompt, bytes):
        request.prompt_text = prompt
    else:
        request.prompt_ids.extend(prompt)
    if decoding is not None:
        request.decoding.CopyFrom(decoding)
    return request


def run_generate(
    endpoint: str, request: pb.GenerateRequest, *, on_token=None, timeout_s: float = 120
) -> Generation:
    """Call Generate on the first hop and collect the stream; `on_token(n)` after each token."""
    started = time.perf_counter()
    out = Generation([], None, None, [])
    with grpc.insecure_channel(endpoint) as channel:
        for event in pb_grpc.PipelineStub(channel).Generate(request, timeout=timeout_s):
            kind = event.WhichOneof("kind")
            if kind == "token":
                out.tokens.append(event.token.token_id)
                out.token_times.append(time.perf_counter() - started)
                if on_token is not None:
                    on_token(len(out.tokens))
            elif kind == "done":
                out.done = event.done
            else:
                out.error = event.error
    return out
