"""Benchmark: joining a running 4-validator testnet by state sync vs by replaying from genesis.

A network from ``infera testnet --validators 4`` on this host, snapshots every ``--interval``
heights (app.toml ``[state-sync]``, chunks of ``--chunk-bytes``), is loaded with ``--sends``
bank sends to fresh addresses (each one a new account: the state grows) and run to at least
``--blocks`` heights. Then, one after the other on the same chain:

1. a new full node joins by state sync (``infera testnet add-node --state-sync``: config.toml
   ``[statesync]`` with two validators' RPC servers, a trusted height and hash read from one);
2. another new full node (``infera testnet add-node``) joins without it: it replays every block from genesis (blocksync).

Each is timed from its start until it holds a validator's height of that moment (it caught up
with the live chain), and the first also until its state was restored (the app's log line).
Both times include the node's start-up (Python imports, CometBFT start, peer dialing) and, for
state sync, CometBFT's snapshot discovery (``discovery_time``, 5 s here). The snapshot's size, chunk count and entry
count are read from the validator's snapshot folder. Prints a table; writes
bench/results/state_sync.json. Also, in this process without CometBFT, the export and the
verified restore (every chunk hashed, the tree rebuilt, one commit) of stores of
``--store-keys`` random keys with 64-byte values: the part of a join that grows with the state.

    python bench/bench_state_sync.py            # 2,000 sends, >= 300 blocks
    python bench/bench_state_sync.py --quick    # 300 sends, >= 80 blocks
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

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from chain import crypto  # noqa: E402
from chain.nodeconfig import SNAPSHOTS  # noqa: E402
from chain.snapshots import decode_metadata  # noqa: E402
from tests.integration.conftest import (  # noqa: E402
    LocalNetwork,
    NodeProcess,
    TxFactory,
    broadcast_all,
    tx_hash,
    wait_committed,
)
from tests.integration.test_state_sync import (  # noqa: E402
    add_full_node,
    earliest_height,
    enable_snapshots,
    snapshot_heights,
)

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "state_sync.json"
BATCH = 200  # sends per JSON-RPC batch


def load_chain(net: LocalNetwork, sends: int, blocks: int) -> int:
    """``sends`` bank sends to fresh addresses, then run to ``blocks``; returns the height."""
    rng = random.Random(5)
    rpc = net.nodes[0].rpc
    factory = TxFactory(rpc, net.chain_id, net.accounts)
    txs = [
        factory.send(
            net.accounts[i % len(net.accounts)],
            crypto.to_bech32(rng.randbytes(20)),
            1 + i,
        )
        for i in range(sends)
    ]
    for start in range(0, len(txs), BATCH):
        batch = txs[start : start + BATCH]
        broadcast_all(rpc, batch)
        wait_committed(rpc, [tx_hash(t) for t in batch[-len(net.accounts) :]], timeout=120)
    while net.nodes[0].height() < blocks:
        time.sleep(0.5)
    return net.nodes[0].height()


def time_join(node: NodeProcess, tip: NodeProcess, restored_marker: bool) -> dict[str, float | int]:
    """Start ``node`` and time it until it holds the height ``tip`` holds at that moment (the
    chain goes on meanwhile: this is the time to catch up with a live chain)."""
    log = node.home / "node.log"
    start = time.monotonic()
    node.start()
    restored_at, restored_height = None, 0
    while True:
        if restored_marker and restored_at is None and log.exists():
            restored_height = _restored_height(log)
            if restored_height:
                restored_at = time.monotonic() - start
        try:
            height = node.height()
            if height > 1 and height >= tip.height():
                break
        except Exception:
            pass
        if node.process is not None and node.process.poll() is not None:
            raise RuntimeError(f"{node.name} exited:\n{node.log_tail()}")
        if time.monotonic() - start > 900:
            raise RuntimeError(f"{node.name} did not catch up:\n{node.log_tail()}")
        time.sleep(0.1)
    out: dict[str, float | int] = {
        "seconds_to_tip": round(time.monotonic() - start, 2),
        "tip_height": height,
        "earliest_block": earliest_height(node),
    }
    if restored_at is not None:
        out["seconds_to_restored"] = round(restored_at, 2)
        out["snapshot_height"] = restored_height
    return out


def _restored_height(log: pathlib.Path) -> int:
    """The snapshot height from the app's "state restored from snapshot" log line (JSON)."""
    for line in log.read_text(errors="replace").splitlines():
        if "state restored from snapshot" in line:
            try:
                return int(json.loads(line)["height"])
            except (ValueError, KeyError):
                return -1
    return 0


def snapshot_figures(node: NodeProcess, height: int) -> dict[str, int]:
    folder = node.home / SNAPSHOTS / f"{height:020d}"
    raw = (folder / "metadata").read_bytes()
    chunk_files = sorted(p for p in folder.iterdir() if p.name != "metadata")
    metadata = decode_metadata(raw, len(chunk_files))
    return {
        "height": height,
        "stream_bytes": metadata.total_bytes,
        "chunks": len(chunk_files),
        "chunk_bytes": metadata.chunk_bytes,
        "entries": metadata.entries,
        "metadata_bytes": len(raw),
    }


def in_process(keys: int, chunk_bytes: int) -> dict[str, float | int]:
    """Export and restore a store of ``keys`` keys (64-byte values) without CometBFT: the
    app's own cost, which grows with the state while the network part above does not."""
    from chain.snapshots import SnapshotManager
    from chain.store import CommitStore
    from tendermint.abci import types_pb2 as abci

    rng = random.Random(keys)
    with tempfile.TemporaryDirectory(prefix="bench-ss-store-") as tmp:
        root = pathlib.Path(tmp)
        source = CommitStore(str(root / "source.db"))
        for start in range(0, keys, 100_000):  # commit in slices, as blocks would
            count = min(100_000, keys - start)
            source.stage(
                1 + start // 100_000, {rng.randbytes(32): rng.randbytes(64) for _ in range(count)}
            )
            source.commit()
        made = SnapshotManager(root / "snaps", interval=1, chunk_bytes=chunk_bytes)
        began = time.perf_counter()
        made.maybe_snapshot(source)
        made.wait()
        export_s = time.perf_counter() - began
        snapshot = made.list_snapshots(tip=1 << 40).snapshots[0]  # listed at once
        target = CommitStore(str(root / "target.db"))
        joiner = SnapshotManager(root / "joiner")
        began = time.perf_counter()
        offer = abci.RequestOfferSnapshot(snapshot=snapshot, app_hash=source.last_app_hash)
        assert joiner.offer(target, offer, {}).result == abci.ResponseOfferSnapshot.ACCEPT
        for index in range(snapshot.chunks):
            load = abci.RequestLoadSnapshotChunk(height=snapshot.height, format=1, chunk=index)
            chunk = made.load_chunk(load).chunk
            apply = abci.RequestApplySnapshotChunk(index=index, chunk=chunk, sender="bench")
            assert (
                joiner.apply_chunk(target, apply).result == abci.ResponseApplySnapshotChunk.ACCEPT
            )
        restore_s = time.perf_counter() - began
        assert target.last_app_hash == source.last_app_hash
        source.close()
        target.close()
    return {
        "keys": keys,
        "chunks": snapshot.chunks,
        "stream_bytes": keys * (4 + 32 + 4 + 64),
        "export_seconds": round(export_s, 2),
        "restore_seconds": round(restore_s, 2),
    }


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-ss-") as tmp:
        root = pathlib.Path(tmp)
        net = LocalNetwork.testnet(root, validators=4, dev_accounts=8)
        enable_snapshots(net, args.interval, args.chunk_bytes)
        joiners: list[NodeProcess] = []
        try:
            net.start()
            height = load_chain(net, args.sends, args.blocks)
            print(f"chain at height {height} after {args.sends} sends", flush=True)
            while not snapshot_heights(net.nodes[0]):
                time.sleep(0.5)

            synced = add_full_node(net, "statesync", state_sync=True)
            joiners.append(synced)
            by_snapshot = time_join(synced, net.nodes[1], restored_marker=True)
            snapshot = snapshot_figures(net.nodes[0], int(by_snapshot["snapshot_height"]))
            synced.stop()

            replay = add_full_node(net, "replay", state_sync=False)
            joiners.append(replay)
            by_replay = time_join(replay, net.nodes[1], restored_marker=False)
            replay.stop()
        finally:
            for joiner in joiners:
                if joiner.running:
                    joiner.stop()
            net.close()
    stores = [in_process(keys, 4 << 20) for keys in args.store_keys]
    return {
        "host": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "settings": vars(args),
        "in_process": stores,
        "snapshot": snapshot,
        "state_sync": by_snapshot,
        "replay_from_genesis": by_replay,
    }


def print_table(result: dict) -> None:
    s, r, snap = result["state_sync"], result["replay_from_genesis"], result["snapshot"]
    print()
    print("| join by | blocks executed | seconds to restored state | seconds to the tip |")
    print("|---|---|---|---|")
    print(
        f"| state sync (snapshot {snap['height']}) | {s['tip_height'] - snap['height']} "
        f"| {s['seconds_to_restored']} | {s['seconds_to_tip']} |"
    )
    print(f"| replay from genesis | {r['tip_height']} | - | {r['seconds_to_tip']} |")
    print()
    print(
        f"snapshot: {snap['entries']} entries, {snap['stream_bytes']} bytes in "
        f"{snap['chunks']} chunks of <= {snap['chunk_bytes']} bytes, "
        f"metadata {snap['metadata_bytes']} bytes"
    )
    print()
    print("| keys in state (in-process) | stream bytes | chunks (4 MiB) | export s | restore s |")
    print("|---|---|---|---|---|")
    for row in result["in_process"]:
        print(
            f"| {row['keys']:,} | {row['stream_bytes']:,} | {row['chunks']} "
            f"| {row['export_seconds']} | {row['restore_seconds']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sends", type=int, default=2_000, help="bank sends to fresh addresses")
    parser.add_argument("--blocks", type=int, default=300, help="run the chain to this height")
    parser.add_argument("--interval", type=int, default=50, help="snapshot interval (heights)")
    parser.add_argument("--chunk-bytes", type=int, default=65_536, help="snapshot chunk size")
    parser.add_argument(
        "--store-keys", type=int, nargs="*", default=[10_000, 100_000],
        help="in-process export/restore of stores of these sizes (keys)",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="300 sends, 80 blocks")
    args = parser.parse_args()
    if args.quick:
        args.sends, args.blocks, args.interval, args.store_keys = 300, 80, 20, [10_000]
    result = run(args)
    print_table(result)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
