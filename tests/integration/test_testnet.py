"""Four validators from ``infera testnet``: agreement under load, a stopped node, a killed node."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
from collections import defaultdict

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import (
    LocalNetwork,
    TxFactory,
    balance,
    broadcast_all,
    tx_hash,
    wait_committed,
)

pytestmark = pytest.mark.integration


def _random_sends(
    net: LocalNetwork, factory: TxFactory, count: int, rng: random.Random
) -> dict[int, list[bytes]]:
    """``count`` signed sends between dev accounts, grouped by the node each is sent to.

    All of one sender's txs go to the same node, in sequence order, so no node sees sequence
    n+1 before n.
    """
    by_node: dict[int, list[bytes]] = defaultdict(list)
    accounts = net.accounts
    for _ in range(count):
        sender = rng.choice(accounts)
        recipient = rng.choice([a for a in accounts if a is not sender])
        node = accounts.index(sender) % len(net.nodes)
        by_node[node].append(factory.send(sender, recipient.address, rng.randint(1, 10_000)))
    return by_node


def test_200_random_sends_all_included_and_validators_agree(network4: LocalNetwork) -> None:
    rng = random.Random(7)
    factory = TxFactory(network4.nodes[0].rpc, network4.chain_id, network4.accounts)
    by_node = _random_sends(network4, factory, 200, rng)

    for index, txs in by_node.items():
        broadcast_all(network4.nodes[index].rpc, txs)
    hashes = [tx_hash(t) for txs in by_node.values() for t in txs]
    results = wait_committed(network4.nodes[0].rpc, hashes, timeout=60)

    assert len(results) == 200
    assert all(int(r["tx_result"].get("code") or 0) == 0 for r in results.values())
    top = max(int(r["height"]) for r in results.values()) + 1  # its app hash is in header top
    for node in network4.nodes:
        node.wait_height(top)
    assert network4.assert_same_app_hashes(top) >= top
    _assert_cometbft_metrics(network4, top)


def _assert_cometbft_metrics(net: LocalNetwork, height: int) -> None:
    """Every node serves CometBFT's own Prometheus metrics on its own port (testnet.json)."""
    described = json.loads((net.root / "testnet.json").read_text())["nodes"]
    addresses = [n["prometheus"] for n in described]
    assert len(set(addresses)) == len(net.nodes)
    for address in addresses:
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as reply:
            text = reply.read().decode()
        samples = {s.name: s for f in text_string_to_metric_families(text) for s in f.samples}
        assert samples["cometbft_consensus_height"].value >= height
        assert samples["cometbft_consensus_height"].labels["chain_id"] == net.chain_id
        assert samples["cometbft_consensus_validators"].value == len(net.nodes)
        assert samples["cometbft_p2p_peers"].value == len(net.nodes) - 1


def test_stopped_validator_catches_up_with_same_app_hash(network4: LocalNetwork) -> None:
    rng = random.Random(11)
    stopped = network4.nodes[3]
    factory = TxFactory(network4.nodes[0].rpc, network4.chain_id, network4.accounts)

    assert stopped.stop() == 0
    start = network4.min_height()
    txs = [
        factory.send(a, network4.accounts[0].address, rng.randint(1, 100))
        for a in network4.accounts[1:]
    ]
    broadcast_all(network4.nodes[0].rpc, txs)
    wait_committed(network4.nodes[0].rpc, [tx_hash(t) for t in txs])
    network4.nodes[0].wait_height(start + 5, timeout=30)  # 3 of 4 validators (75% power) go on
    target = network4.nodes[0].height()

    stopped.start()
    stopped.wait_height(target, timeout=60)

    assert not stopped.rpc.status()["sync_info"]["catching_up"] or stopped.height() >= target
    network4.assert_same_app_hashes(target)


def test_killed_node_restarts_without_losing_committed_txs(network4: LocalNetwork) -> None:
    rng = random.Random(13)
    victim, healthy = network4.nodes[1], network4.nodes[0]
    factory = TxFactory(healthy.rpc, network4.chain_id, network4.accounts)
    # Senders 0-1 send through the victim, 2-3 through a healthy node; one node per sender
    # keeps each sender's sequences in order.
    routes = [(network4.accounts[i], victim if i < 2 else healthy) for i in range(4)]
    sent: list[str] = []
    errors: list[str] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            for sender, node in routes:
                raw = factory.send(sender, network4.accounts[-1].address, rng.randint(1, 100))
                try:
                    broadcast_all(node.rpc, [raw])
                    sent.append(tx_hash(raw))
                except Exception as exc:  # node down, or a sequence gap left by the crash
                    errors.append(repr(exc))
                    factory.sequences[sender.address] -= 1
            time.sleep(0.05)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    try:
        time.sleep(2.0)
        victim.kill()  # SIGKILL app and CometBFT together, mid-run, while txs flow
        time.sleep(1.5)
        victim.start()
        victim.wait_height(healthy.height(), timeout=60)
        time.sleep(1.0)
    finally:
        stop.set()
        thread.join(10)

    healthy.wait_height(healthy.height() + 2)
    committed = {h: r for h in sent if (r := healthy.rpc.tx(h)) is not None}
    target = healthy.height()
    # CometBFT reports a height once the block is stored, before the app commits it; once it
    # reports target + 1 the app has committed target (beacon work made the gap visible).
    victim.wait_height(target + 1, timeout=60)

    assert len(committed) >= 20, f"too little load reached the chain: {errors[:5]}"
    network4.assert_same_app_hashes(target)
    for h, result in committed.items():  # every committed tx is in the victim's own blocks
        block = victim.rpc.block(int(result["height"]))
        assert result["tx"] in block["block"]["data"]["txs"], f"tx {h} missing on the victim"
    for account in network4.accounts:
        assert balance(victim.rpc, account.address, target) == balance(
            healthy.rpc, account.address, target
        )
