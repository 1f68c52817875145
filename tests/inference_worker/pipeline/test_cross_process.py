"""Shards in three separate Python processes, hidden states passed as codec bytes over pipes."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from inference_worker.pipeline.generate import generate, reference_generate
from inference_worker.pipeline.shard import load_shard

REPO = Path(__file__).resolve().parents[3]
HOP = Path(__file__).parent.parent / "hop_process.py"
SPANS = [(0, 1), (1, 3), (3, 5)]  # of the tiny 5-layer Llama
PROMPTS = ([1, 5, 9, 22, 7, 3], [40, 2])


class HopProcess:
    """A running hop_process.py."""

    def __init__(self, model_dir: Path, start: int, end: int):
        env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, str(HOP), str(model_dir), str(start), str(end)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def ask(self, body: bytes) -> bytes:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(struct.pack("<I", len(body)) + body)
        self.proc.stdin.flush()
        return self.receive()

    def receive(self) -> bytes:
        assert self.proc.stdout is not None
        head = self.proc.stdout.read(4)
        if len(head) != 4:
            raise RuntimeError(f"hop process exited with {self.proc.wait()}")
        return self.proc.stdout.read(struct.unpack("<I", head)[0])

    def close(self) -> int:
        assert self.proc.stdin is not None
        if self.proc.poll() is None:
            self.proc.stdin.write(struct.pack("<I", 0))
            self.proc.stdin.close()
        return self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def hops(tiny_models) -> Iterator[list[HopProcess]]:
    """Three hop processes serving the tiny Llama, started in parallel."""
    processes = [HopProcess(tiny_models["llama"], a, b) for a, b in SPANS]
    try:
        for hop in processes:
            assert hop.receive() == b"ready"
        yield processes
    finally:
        assert [hop.close() for hop in processes] == [0, 0, 0]


def run_session(hops: list[HopProcess], prompt: list[int], codec: str, steps: int):
    """Greedy tokens through the hop processes, plus the bytes each boundary carried."""
    for hop in hops:
        assert hop.ask(b"S" + codec.encode()) == b"ok"
    wire = [0] * (len(hops) - 1)
    tokens: list[int] = []
    body = struct.pack(f"<{len(prompt)}q", *prompt)
    for _ in range(steps):
        for i, hop in enumerate(hops):
            body = hop.ask(b"D" + body)
            if i < len(hops) - 1:
                wire[i] += len(body)
        tokens.append(struct.unpack("<q", body)[0])
        body = struct.pack("<q", tokens[-1])
    return tokens, wire


@pytest.mark.parametrize("prompt", PROMPTS)
def test_hops_in_separate_processes_give_the_unsharded_tokens(tiny_models, hops, prompt):
    tokens, wire = run_session(hops, prompt, "fp32", steps=32)
    assert tokens == reference_generate(tiny_models["llama"], prompt, 32)
    # fp32 on the wire: 4 bytes per hidden value plus a 20-byte header, per step.
    assert wire == [4 * 64 * (len(prompt) + 31) + 20 * 32] * 2


def test_int8_codec_across_processes_matches_the_in_process_driver(tiny_models, hops):
    tokens, wire = run_session(hops, PROMPTS[0], "int8", steps=24)
    shards = [load_shard(tiny_models["llama"], a, b) for a, b in SPANS]
    in_process = generate(shards, PROMPTS[0], max_new_tokens=24, eos_ids=set(), wire_codec="int8")
    assert tokens == in_process.tokens  # deterministic codec: same bytes, same tokens
    assert wire == in_process.wire_bytes
