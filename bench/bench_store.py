"""Benchmark: app-hash cost per block (stage + commit) as the state grows.

For each state size n: populate n keys (in big batches, one commit each), then run blocks of
1,000 changed keys (90% updates of existing keys, 5% inserts, 5% deletes) and time ``stage``
(new root in memory) and ``commit`` (one synced write batch) per block, averaged over the
measured blocks after a few warm-up blocks. Prints a table; writes bench/results/store.json.

    python bench/bench_store.py            # 10^4, 10^5, 10^6 keys
    python bench/bench_store.py --quick    # 10^3, 10^4 keys, fewer blocks
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from chain.store.commit import CommitStore  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "store.json"
POPULATE_BATCH = 100_000  # keys per commit while populating
VALUE_BYTES = 40  # a protobuf-encoded balance or account is of this order


@dataclass
class Row:
    """One state size's figures (times in milliseconds unless named otherwise)."""

    keys: int
    populate_s: float  # seconds to load the state (not part of the per-block cost)
    blocks: int  # measured blocks (after warm-up)
    stage_ms: float  # mean time to compute the new root
    commit_ms: float  # mean time of the synced atomic write (and pruning)
    total_ms: float  # stage + commit
    total_min_ms: float  # fastest block (the least disturbed by other processes)
    total_p90_ms: float  # 90th percentile of stage + commit
    cpu_ms: float  # mean CPU time of this thread in stage + commit (no fsync wait, no compaction)
    nodes_written: float  # mean tree nodes written per block
    nodes_read_db: float  # mean tree nodes read from LevelDB (not the LRU cache) per block


def key_of(i: int) -> bytes:
    """The i-th benchmark key, module-prefixed like real state keys."""
    return b"bank/bal/%012d/uinfer" % i


def value_of(i: int, version: int) -> bytes:
    """A deterministic value of VALUE_BYTES bytes."""
    return (b"%d:%d:" % (i, version)).ljust(VALUE_BYTES, b".")


def populate(store: CommitStore, n: int) -> float:
    """Load keys 0..n-1 in batches; returns seconds taken."""
    began = time.perf_counter()
    for lo in range(0, n, POPULATE_BATCH):
        hi = min(n, lo + POPULATE_BATCH)
        store.stage(store.last_height + 1, {key_of(i): value_of(i, 0) for i in range(lo, hi)})
        store.commit()
    return time.perf_counter() - began


def block_changes(rng: random.Random, live: list[int], next_id: int, version: int, size: int):
    """1,000-ish changes: updates of live keys, new keys, deletes of live keys."""
    n_new, n_del = size // 20, size // 20
    changes: dict[bytes, bytes | None] = {}
    for i in rng.sample(live, size - n_new):
        changes[key_of(i)] = value_of(i, version)
    for pos in sorted(rng.sample(range(len(live)), n_del), reverse=True):
        changes[key_of(live[pos])] = None
        live[pos] = live[-1]
        live.pop()
    for i in range(next_id, next_id + n_new):
        changes[key_of(i)] = value_of(i, version)
        live.append(i)
    return changes, next_id + n_new


def run_size(
    root: pathlib.Path, n: int, warmup: int, measured: int, changed: int, node_cache: int = 0
) -> Row:
    """Populate n keys and time ``warmup + measured`` blocks of ``changed`` keys
    (``node_cache``: the store's node cache size in nodes; 0 = CommitStore's default)."""
    cache = {"node_cache_size": node_cache} if node_cache else {}
    store = CommitStore(str(root / f"db{n}"), **cache)
    populate_s = populate(store, n)
    rng = random.Random(n)
    live, next_id = list(range(n)), n
    stage_t: list[float] = []
    commit_t: list[float] = []
    written: list[int] = []
    misses: list[int] = []
    cpu: list[float] = []
    for b in range(warmup + measured):
        version = store.last_height + 1
        changes, next_id = block_changes(rng, live, next_id, version, changed)
        miss0 = store.stats().cache_misses
        c0 = time.thread_time()
        t0 = time.perf_counter()
        store.stage(version, changes)
        t1 = time.perf_counter()
        n_written = store.stats().staged_nodes
        store.commit()
        t2 = time.perf_counter()
        c2 = time.thread_time()
        if b >= warmup:
            cpu.append(c2 - c0)
            stage_t.append(t1 - t0)
            commit_t.append(t2 - t1)
            written.append(n_written)
            misses.append(store.stats().cache_misses - miss0)
    store.close()
    totals = sorted(s + c for s, c in zip(stage_t, commit_t, strict=True))
    return Row(
        keys=n,
        populate_s=round(populate_s, 2),
        blocks=measured,
        stage_ms=round(1000 * sum(stage_t) / measured, 1),
        commit_ms=round(1000 * sum(commit_t) / measured, 1),
        total_ms=round(1000 * sum(totals) / measured, 1),
        total_min_ms=round(1000 * totals[0], 1),
        total_p90_ms=round(1000 * totals[min(measured - 1, (9 * measured) // 10)], 1),
        cpu_ms=round(1000 * sum(cpu) / measured, 1),
        nodes_written=round(sum(written) / measured, 1),
        nodes_read_db=round(sum(misses) / measured, 1),
    )


def print_table(rows: list[Row], changed: int) -> None:
    """A plain-text table of the rows."""
    print(f"app hash per block, {changed} changed keys (stage + commit, ms; mean of N blocks)")
    head = f"{'keys':>10} {'populate s':>10} {'N':>3} {'stage':>7} {'commit':>7} {'total':>7}"
    print(head + f" {'min':>7} {'p90':>7} {'cpu':>7} {'nodes wr':>8} {'db reads':>8}")
    for r in rows:
        print(
            f"{r.keys:>10,} {r.populate_s:>10.1f} {r.blocks:>3} {r.stage_ms:>7.1f} "
            f"{r.commit_ms:>7.1f} {r.total_ms:>7.1f} {r.total_min_ms:>7.1f} "
            f"{r.total_p90_ms:>7.1f} {r.cpu_ms:>7.1f} {r.nodes_written:>8.0f} "
            f"{r.nodes_read_db:>8.0f}"
        )


def main(argv: list[str] | None = None) -> list[Row]:
    """Run the benchmark; print the table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer blocks")
    parser.add_argument("--sizes", type=int, nargs="*", help="state sizes (override)")
    parser.add_argument("--changed", type=int, default=1000, help="changed keys per block")
    parser.add_argument(
        "--node-cache", type=int, default=0, help="node cache size in nodes (0: the default)"
    )
    args = parser.parse_args(argv)
    sizes = args.sizes or ([1_000, 10_000] if args.quick else [10_000, 100_000, 1_000_000])
    warmup, measured = (2, 5) if args.quick else (3, 20)
    rows: list[Row] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_store_") as tmp:
        for n in sizes:
            rows.append(
                run_size(pathlib.Path(tmp), n, warmup, measured, args.changed, args.node_cache)
            )
            print(f"  {n:,} keys: {rows[-1].total_ms} ms per block", flush=True)
    print_table(rows, args.changed)
    load = (round(load_before, 1), round(os.getloadavg()[0], 1))
    print(f"cpu cores: {os.cpu_count()}; 1-minute load average before/after: {load[0]}/{load[1]}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "store app hash per block",
        "changed_keys_per_block": args.changed,
        "node_cache_size": args.node_cache or "default",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_cores": os.cpu_count(),
        "load_average_before_after": load,  # other processes competing for the CPU
        "rows": [asdict(r) for r in rows],
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return rows


if __name__ == "__main__":
    main()
