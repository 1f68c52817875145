"""State sync on real CometBFT: four validators make snapshots; a fifth node joins by one.

The joiner is a full node made by ``infera testnet add-node --state-sync`` (the network's
genesis, every validator as a peer) whose config.toml has ``[statesync] enable = true`` with two
validators' RPC servers and a trusted height and block hash read from a validator. It must restore the snapshot (its block history starts after the
snapshot height, so it did not replay from genesis), follow the chain with the validators' app
hashes, answer queries like them, and accept transactions.

``add_full_node`` and ``enable_snapshots`` are also used by ``bench/bench_state_sync.py``.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import time
from pathlib import Path

import pytest

from chain import crypto
from chain.nodeconfig import (
    CONFIG_TOML,
    SNAPSHOTS,
    load_app_config,
    set_toml_values,
    write_app_config,
)
from tests.integration.conftest import (
    LocalNetwork,
    NodeProcess,
    TxFactory,
    balance,
    broadcast_all,
    free_port_base,
    infera,
    tx_hash,
    wait_committed,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INTERVAL = 10  # snapshot every 10 heights
KEEP = 10  # snapshots kept: 100 heights (~30 s here) outlast a join; a pruned one stalls it
CHUNK_BYTES = 4096  # small chunks: the testnet's state makes several of them


def enable_snapshots(net: LocalNetwork, interval: int, chunk_bytes: int) -> None:
    """Turn on snapshots in every validator's app.toml (before the network starts)."""
    for node in net.nodes:
        config = load_app_config(node.home)
        config = dataclasses.replace(
            config,
            snapshot_interval=interval,
            snapshot_keep_recent=KEEP,
            snapshot_chunk_bytes=chunk_bytes,
        )
        write_app_config(node.home, config)


def add_full_node(net: LocalNetwork, name: str, *, state_sync: bool) -> NodeProcess:
    """``infera testnet add-node`` on free ports: a non-validator node with the network's genesis,
    peered with every validator; with ``state_sync``, [statesync] from node0's RPC (trusted
    height and hash) and node1's, snapshot discovery shortened to 5 s for the tests."""
    result = infera(
        "testnet", "add-node", str(net.root), "--name", name,
        "--base-port", str(free_port_base(1)), "--output", "json",
        *(["--state-sync"] if state_sync else []),
    )  # fmt: skip
    entry = json.loads(result.stdout)
    home = Path(entry["home"])
    if state_sync:
        set_toml_values(home / CONFIG_TOML, {"statesync": {"discovery_time": "5s"}})
    return NodeProcess(name, home, entry["rpc"])


def snapshot_heights(node: NodeProcess) -> list[int]:
    """Heights of the node's complete snapshots (folders named by 20 digits), ascending."""
    folder = node.home / SNAPSHOTS
    names = [p.name for p in folder.iterdir()] if folder.exists() else []
    return sorted(int(name) for name in names if re.fullmatch(r"[0-9]{20}", name))


def wait_snapshot(node: NodeProcess, after: int = 0, timeout: float = 90) -> int:
    """The height of the node's newest complete snapshot above ``after``, once it is at least
    3 heights below the tip (the light client needs headers up to snapshot + 2)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        heights = snapshot_heights(node)
        if heights and heights[-1] > after and node.height() >= heights[-1] + 3:
            return heights[-1]
        time.sleep(0.3)
    raise AssertionError(f"{node.name} made no snapshot:\n{node.log_tail()}")


def earliest_height(node: NodeProcess) -> int:
    return int(node.rpc.status()["sync_info"]["earliest_block_height"])


@pytest.fixture
def snapshotting_network(tmp_path: Path):
    net = LocalNetwork.testnet(tmp_path, validators=4)
    enable_snapshots(net, INTERVAL, CHUNK_BYTES)
    joiners: list[NodeProcess] = []
    try:
        net.start()
        yield net, joiners
    finally:
        for joiner in joiners:
            if joiner.running:
                joiner.stop()
        net.close()


def test_new_node_state_syncs_and_follows_the_validators(snapshotting_network, tmp_path) -> None:
    net, joiners = snapshotting_network
    factory = TxFactory(net.nodes[0].rpc, net.chain_id, net.accounts)
    sends = [factory.send(a, net.accounts[0].address, 1_000 + i) for i, a in
             enumerate(net.accounts[1:])]  # fmt: skip
    broadcast_all(net.nodes[0].rpc, sends)
    wait_committed(net.nodes[0].rpc, [tx_hash(t) for t in sends])
    snapshot = wait_snapshot(net.nodes[0])
    # every validator made the same snapshot (same bytes), so chunks may come from any of them
    metadata = {(n.home / SNAPSHOTS / f"{snapshot:020d}" / "metadata").read_bytes() for n in
                net.nodes}  # fmt: skip
    assert len(metadata) == 1

    joiner = add_full_node(net, "joiner", state_sync=True)
    joiners.append(joiner)
    joiner.start()
    joiner.wait_height(net.nodes[0].height(), timeout=120)  # restored, then caught up

    restored = earliest_height(joiner)
    assert restored > 1  # no replay from genesis: its block history starts after the snapshot
    assert restored >= snapshot
    assert "state restored from snapshot" in (joiner.home / "node.log").read_text()
    target = joiner.height() + 3  # blocks it executed itself after the restore
    joiner.wait_height(target)
    validator = net.nodes[1]
    validator.wait_height(target)
    ours = net.headers(joiner, restored, target)
    theirs = net.headers(validator, restored, target)
    assert sorted(ours) == list(range(restored, target + 1)) and len(ours) >= 4
    assert [ours[h]["app_hash"] for h in ours] == [theirs[h]["app_hash"] for h in ours]
    assert [ours[h]["last_block_id"] for h in ours] == [theirs[h]["last_block_id"] for h in ours]

    # queries on the state-synced node answer like a validator's, at the same height
    for account in net.accounts[:3]:
        assert balance(joiner.rpc, account.address, target) == balance(
            validator.rpc, account.address, target
        )
    # and it admits transactions (CheckTx with the chain id it learnt) that the chain commits
    late = factory.send(net.accounts[2], net.accounts[5].address, 77)
    broadcast_all(joiner.rpc, [late])
    result = wait_committed(validator.rpc, [tx_hash(late)])[tx_hash(late)]
    assert int(result["tx_result"].get("code") or 0) == 0
    final = int(result["height"]) + 1
    joiner.wait_height(final)
    validator.wait_height(final)
    assert (
        net.headers(joiner, final, final)[final]["app_hash"]
        == net.headers(validator, final, final)[final]["app_hash"]
    )


@pytest.fixture
def lying_peer_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Four validators; only node0 (honest) and node1 (serves every chunk with a flipped byte)
    make snapshots, in 1 KiB chunks: a joiner fetches many chunks from both."""
    from chain.node import FAULT_ENV

    net = LocalNetwork.testnet(tmp_path, validators=4)
    for node in net.nodes[:2]:
        config = dataclasses.replace(
            load_app_config(node.home),
            snapshot_interval=INTERVAL,
            snapshot_keep_recent=KEEP,
            snapshot_chunk_bytes=1024,
        )
        write_app_config(node.home, config)
    joiners: list[NodeProcess] = []
    try:
        for index, node in enumerate(net.nodes):
            if index == 1:
                monkeypatch.setenv(FAULT_ENV, "corrupt-snapshot-chunks")
            node.start()
            monkeypatch.delenv(FAULT_ENV, raising=False)
        for node in net.nodes:
            node.wait_height(2, timeout=60)
        yield net, joiners
    finally:
        for joiner in joiners:
            if joiner.running:
                joiner.stop()
        net.close()


def test_chunks_from_a_lying_peer_are_refetched_and_the_join_succeeds(
    lying_peer_network, tmp_path: Path
) -> None:
    from chain.nodeconfig import node_id

    net, joiners = lying_peer_network
    factory = TxFactory(net.nodes[0].rpc, net.chain_id, net.accounts)
    rng = random.Random(3)
    sends = [  # 96 new accounts: the state grows to about 20 chunks of 1 KiB
        factory.send(net.accounts[i % 8], crypto.to_bech32(rng.randbytes(20)), 500)
        for i in range(96)
    ]
    broadcast_all(net.nodes[0].rpc, sends)
    last = wait_committed(net.nodes[0].rpc, [tx_hash(t) for t in sends])
    after = max(int(r["height"]) for r in last.values())
    snapshot = wait_snapshot(net.nodes[0], after=after)  # one that holds them
    chunks = len(list((net.nodes[0].home / SNAPSHOTS / f"{snapshot:020d}").iterdir())) - 1
    assert chunks >= 12, chunks  # P(the liar serves none of them) <= 2^-12
    joiner = add_full_node(net, "joiner", state_sync=True)
    joiners.append(joiner)

    joiner.start()
    joiner.wait_height(net.nodes[0].height(), timeout=120)

    log = (joiner.home / "node.log").read_text()
    liar = node_id(net.nodes[1].home)
    refused = [line for line in log.splitlines() if "bad snapshot chunk" in line]
    assert refused and all(liar in line for line in refused)  # only the liar's chunks
    assert "state restored from snapshot" in log
    top = joiner.height()
    net.nodes[2].wait_height(top)
    ours = net.headers(joiner, top, top)[top]["app_hash"]
    assert ours == net.headers(net.nodes[2], top, top)[top]["app_hash"]
