"""Crash safety: SIGKILL a committing process at random moments, reopen, check consistency."""

from __future__ import annotations

import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import plyvel

from chain.store import CommitStore, verify_proof
from chain.store.commit import NODE, ROOT, STALE
from chain.store.tree import parse_node_key
from tests.chain.store.crash_worker import batch
from tests.chain.store.reference import apply, reference_root

REPO = pathlib.Path(__file__).resolve().parents[3]
KILLS = 8


def run_worker_until_killed(path: str, keep_recent: int, delay_s: float) -> list[int]:
    """Start the worker, let it commit for a while, SIGKILL it; returns the heights it printed."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.chain.store.crash_worker", path, str(keep_recent)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert worker.stdout is not None
    first = worker.stdout.readline()  # wait until it has committed once (startup is slow)
    time.sleep(delay_s)
    worker.send_signal(signal.SIGKILL)
    rest = worker.stdout.read()
    worker.wait()
    assert worker.stderr is not None
    errors = worker.stderr.read().decode()
    assert worker.returncode == -signal.SIGKILL, f"the worker died on its own:\n{errors}"
    return [int(line) for line in (first + rest).split()]


def max_versions_on_disk(path: str) -> tuple[int, int, int]:
    """The highest version among node keys, root pointers and stale records."""
    db = plyvel.DB(path)
    try:
        nodes = max(
            (parse_node_key(k[1:])[0] for k in db.iterator(prefix=NODE, include_value=False)),
            default=0,
        )
        roots = max(
            (int.from_bytes(k[1:9], "big") for k in db.iterator(prefix=ROOT, include_value=False)),
            default=0,
        )
        stale = max(
            (int.from_bytes(k[1:9], "big") for k in db.iterator(prefix=STALE, include_value=False)),
            default=0,
        )
        return nodes, roots, stale
    finally:
        db.close()


def test_sigkill_at_random_moments_never_breaks_the_store(tmp_path) -> None:
    path = str(tmp_path / "db")
    rng = random.Random(2024)
    model: dict[bytes, bytes] = {}
    height = 0
    for _ in range(KILLS):
        printed = run_worker_until_killed(path, keep_recent=4, delay_s=rng.uniform(0.0, 0.4))
        with CommitStore(path, keep_recent=4) as store:
            assert store.last_height >= max(printed)  # every reported commit is durable
            assert store.last_height <= max(printed) + 1  # at most the one being written
            for h in range(height + 1, store.last_height + 1):
                apply(model, batch(h))
            height = store.last_height
            assert store.last_app_hash == store.root_at(height) == reference_root(model)
            flat = dict(store.latest().iterate(b"", None))
            assert flat == model  # the flat table agrees with the tree
            assert store.get_meta(b"height") == b"%d" % height
            for key in sorted(model)[:: max(1, len(model) // 20)] + [b"crash/none"]:
                value, proof = store.prove(key, height)
                assert value == model.get(key)
                assert verify_proof(store.last_app_hash, key, value, proof)
        assert max(max_versions_on_disk(path)) == height  # nothing after the last commit leaked
    assert height >= KILLS  # the worker made progress between kills
