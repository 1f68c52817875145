"""Helpers for tests with real CometBFT nodes: create, start, stop and inspect local networks.

Every node is a real ``infera start`` process (app + CometBFT child) in its own process group,
made by the real CLI (``infera init`` / ``infera testnet``), on free ports found at run time.
Fixtures always stop every process they started, also when a test fails.

Also used by ``bench/bench_throughput.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chain.pb  # noqa: F401

import coincurve
import pytest
from cosmpy.mnemonic import COSMOS_HD_PATH, derive_child_key_from_mnemonic

from chain import crypto
from chain.cli.rpc import CometRPC, NodeUnreachableError, RPCError
from chain.cli.tx import get_account
from chain.testnet import node_env, spawn_node, stop_process_group
from cosmos.bank.v1beta1 import tx_pb2 as bank_tx
from cosmos.base.v1beta1 import coin_pb2
from tests.harness import build_tx


def _have_cometbft() -> bool:
    from chain.node import find_cometbft

    try:
        find_cometbft()
    except Exception:
        return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a cometbft binary (``make install`` builds one) these tests are skipped, loudly."""
    if _have_cometbft():
        return
    skip = pytest.mark.skip(reason="cometbft not found: run `make install`")
    for item in items:
        if "integration" in item.keywords and "tests/integration" in str(item.fspath):
            item.add_marker(skip)


DENOM = "uinfera"
TIMEOUT_COMMIT = "200ms"
SEND_GAS = 60_000  # a bank send uses about 33k gas
SEND_FEE = 1_500  # SEND_GAS x 0.025 (the presets' minimum gas price)


def infera(
    *args: str, check: bool = True, timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (``python -m chain.cli.main``) and return its completed process."""
    result = subprocess.run(
        [sys.executable, "-m", "chain.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=node_env(),
        input=stdin,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"infera {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
        )
    return result


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_base(nodes: int) -> int:
    """A base port whose testnet block (base .. base+10*nodes) is entirely free right now.

    Chosen below Linux's ephemeral range (32768+) so outgoing connections do not take them.
    """
    for _ in range(200):
        base = random.randrange(20_000, 32_000 - 10 * nodes, 10)
        if all(_port_free(base + 10 * i + k) for i in range(nodes) for k in range(5)):
            return base
    raise RuntimeError("no free port block found")


def init_solo_node(root: Path, chain_id: str, timeout_commit: str) -> tuple[Path, str, str]:
    """`infera init` one validator on free local ports with 8 dev accounts: (home, RPC URL,
    gRPC address). The caller patches its genesis, then starts it (NodeProcess)."""
    base = free_port_base(1)
    home = root / "node"
    infera(
        "init", "--home", str(home), "--chain-id", chain_id, "--moniker", "solo",
        "--timeout-commit", timeout_commit, "--p2p-port", str(base), "--rpc-port", str(base + 1),
        "--abci-port", str(base + 2), "--grpc-port", str(base + 3), "--dev-accounts", "8",
        "--prometheus-port", str(base + 4),
    )  # fmt: skip
    return home, f"http://127.0.0.1:{base + 1}", f"127.0.0.1:{base + 3}"


@dataclass
class DevAccount:
    """A funded developer account from dev-accounts.json, with its raw key for fast signing."""

    name: str
    address: str
    mnemonic: str = field(repr=False)

    def __post_init__(self) -> None:
        self.private = derive_child_key_from_mnemonic(self.mnemonic, path=COSMOS_HD_PATH)
        self.public = coincurve.PrivateKey(self.private).public_key.format(compressed=True)
        assert crypto.to_bech32(crypto.address_from_secp256k1(self.public)) == self.address


def load_dev_accounts(path: Path) -> list[DevAccount]:
    records = json.loads(path.read_text())
    return [DevAccount(r["name"], r["address"], r["mnemonic"]) for r in records]


@dataclass
class NodeProcess:
    """One ``infera start`` process (and its CometBFT child), in its own process group."""

    name: str
    home: Path
    rpc_url: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def rpc(self) -> CometRPC:
        return CometRPC(self.rpc_url, timeout=10)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        assert not self.running, f"{self.name} is already running"
        self.process = spawn_node(self.home)

    def stop(self) -> int:
        """SIGTERM the node's process group and wait; returns the exit code."""
        assert self.process is not None
        code = stop_process_group(self.process, grace=30)
        self.process = None
        return code

    def kill(self) -> None:
        """SIGKILL the whole process group (app and CometBFT) at once, like a power cut."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def height(self) -> int:
        return self.rpc.height()

    def wait_height(self, height: int, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited ({self.process.returncode}):\n{self.log_tail()}"
                )
            try:
                current = self.height()
                if current >= height:
                    return current
            except (NodeUnreachableError, RPCError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name} did not reach height {height}:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        path = self.home / "node.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )


@dataclass
class LocalNetwork:
    """A network of real nodes made by the CLI; ``close()`` stops whatever still runs."""

    root: Path
    chain_id: str
    nodes: list[NodeProcess]
    accounts: list[DevAccount]

    @classmethod
    def testnet(
        cls, root: Path, validators: int, dev_accounts: int = 8, beacon: bool = False
    ) -> LocalNetwork:
        """``infera testnet --validators N`` on free ports (``--beacon`` when ``beacon``)."""
        base = free_port_base(validators)
        out = root / "net"
        infera(
            "testnet", "--validators", str(validators), "--output", str(out),
            "--chain-id", "infera-it", "--base-port", str(base),
            "--dev-accounts", str(dev_accounts), "--timeout-commit", TIMEOUT_COMMIT,
            *(["--beacon"] if beacon else []),
        )  # fmt: skip
        description = json.loads((out / "testnet.json").read_text())
        nodes = [NodeProcess(n["name"], Path(n["home"]), n["rpc"]) for n in description["nodes"]]
        return cls(out, "infera-it", nodes, load_dev_accounts(out / "dev-accounts.json"))

    def start(self, min_height: int = 2, timeout: float = 60) -> None:
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_height(min_height, timeout)

    def close(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.running:
                os.killpg(node.process.pid, signal.SIGTERM)
        for node in self.nodes:
            if node.process is not None:
                node.stop()

    def running(self) -> list[NodeProcess]:
        return [n for n in self.nodes if n.running]

    def min_height(self) -> int:
        return min(n.height() for n in self.running())

    def headers(self, node: NodeProcess, first: int, last: int) -> dict[int, dict[str, Any]]:
        """Block headers ``first..last`` of ``node`` (``/blockchain``, 20 per call)."""
        out: dict[int, dict[str, Any]] = {}
        rpc = node.rpc
        for low in range(first, last + 1, 20):
            high = min(last, low + 19)
            metas = rpc.call("blockchain", minHeight=str(low), maxHeight=str(high))["block_metas"]
            for meta in metas:
                out[int(meta["header"]["height"])] = {
                    **meta["header"],
                    "num_txs": int(meta["num_txs"]),
                }
        return out

    def assert_same_app_hashes(self, up_to: int | None = None) -> int:
        """Every node reports the same block hash and app hash at every height 1..up_to."""
        last = up_to if up_to is not None else self.min_height()
        tables = {n.name: self.headers(n, 1, last) for n in self.nodes}
        reference = tables[self.nodes[0].name]
        assert sorted(reference) == list(range(1, last + 1))
        for name, table in tables.items():
            for height in range(1, last + 1):
                assert table[height]["app_hash"] == reference[height]["app_hash"], (
                    f"{name} app hash differs at height {height}"
                )
                assert table[height]["last_block_id"] == reference[height]["last_block_id"]
        return last


class TxFactory:
    """Signed bank sends with locally managed sequences (several per account per block)."""

    def __init__(self, rpc: CometRPC, chain_id: str, accounts: Sequence[DevAccount]) -> None:
        self.chain_id = chain_id
        self.accounts = list(accounts)
        self.numbers: dict[str, int] = {}
        self.sequences: dict[str, int] = {}
        for account in self.accounts:
            state = get_account(rpc, account.address)
            self.numbers[account.address] = state.account_number
            self.sequences[account.address] = state.sequence

    def send(self, sender: DevAccount, recipient: str, amount: int) -> bytes:
        msg = bank_tx.MsgSend(
            from_address=sender.address,
            to_address=recipient,
            amount=[coin_pb2.Coin(denom=DENOM, amount=str(amount))],
        )
        raw = build_tx(
            [msg],
            [sender],  # type: ignore[list-item]  # duck-typed: .private and .public
            sequences=[self.sequences[sender.address]],
            account_numbers=[self.numbers[sender.address]],
            chain_id=self.chain_id,
            fee=SEND_FEE,
            gas=SEND_GAS,
        )
        self.sequences[sender.address] += 1
        return raw


def tx_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest().upper()


def wait_committed(
    rpc: CometRPC, hashes: Sequence[str], timeout: float = 60
) -> dict[str, dict[str, Any]]:
    """Poll ``/tx`` until every hash is committed; returns hash -> tx result."""
    pending, found = list(hashes), {}
    deadline = time.monotonic() + timeout
    while pending:
        still = []
        for h in pending:
            result = rpc.tx(h)
            if result is None:
                still.append(h)
            else:
                found[h] = result
        pending = still
        if pending and time.monotonic() > deadline:
            raise AssertionError(
                f"{len(pending)} of {len(hashes)} txs not committed in {timeout} s"
            )
        if pending:
            time.sleep(0.3)
    return found


def balance(rpc: CometRPC, address: str, height: int = 0) -> int:
    from chain.cli.query import query_balance

    return query_balance(rpc, address, DENOM, height)


def broadcast_all(rpc: CometRPC, txs: Sequence[bytes]) -> None:
    """broadcast_tx_sync each tx (one batched HTTP request); every CheckTx must pass."""
    calls = [("broadcast_tx_sync", {"tx": base64.b64encode(t).decode()}) for t in txs]
    for result in rpc.batch(calls):
        if isinstance(result, Exception):
            raise result
        assert int(result["code"]) == 0, f"CheckTx failed: {result['log']}"


@pytest.fixture
def network4(tmp_path: Path) -> Iterator[LocalNetwork]:
    """A running 4-validator network from ``infera testnet`` (always stopped afterwards)."""
    net = LocalNetwork.testnet(tmp_path, validators=4)
    try:
        net.start()
        yield net
    finally:
        net.close()
