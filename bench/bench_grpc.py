"""Benchmark: gRPC query latency and throughput of a real node under bank-send load.

A one-validator network made by ``infera testnet`` runs; a background thread submits pre-signed
bank sends at ``--send-rate`` tx/s (``broadcast_tx_async`` on CometBFT RPC) the whole time. Then
for each query kind, ``--clients`` client processes (one gRPC channel each, closed loop: a new
query as soon as the last answered) run for ``--duration`` seconds:

- ``account``: cosmos.auth.v1beta1.Query/Account
- ``balance``: cosmos.bank.v1beta1.Query/Balance
- ``proven``: infera.store.v1.Query/Proven of a balance key (value + Merkle proof, unverified)
- ``proven+verified``: the light client's whole check (Proven, /commit, /validators, ed25519
  signatures, proof), as an auditor runs it

Prints p50/p99 latency and queries/s per kind, and the committed send rate meanwhile; writes
bench/results/grpc.json.

    python bench/bench_grpc.py             # 10 s per query kind
    python bench/bench_grpc.py --quick     # 3 s per query kind
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import pathlib
import platform
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import chain.pb  # noqa: E402, F401

from chain import crypto  # noqa: E402
from chain.cli.rpc import CometRPC  # noqa: E402
from tests.integration.conftest import LocalNetwork, TxFactory  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "grpc.json"
KINDS = ("account", "balance", "proven", "proven+verified")
SEND_BACKLOG = 100  # a phase starts once the mempool holds at most about this many sends


@dataclass
class Row:
    query: str
    clients: int
    queries: int
    errors: int
    qps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    committed_sends_per_s: float  # bank sends committed per second while this kind ran


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


def _client(
    kind: str,
    grpc_address: str,
    rpc_url: str,
    address: str,
    seconds: float,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    """One client process: connect, report ready, wait for ``go``, query ``kind`` in a closed
    loop for ``seconds``; puts (latencies, errors) on ``out``."""
    import grpc

    from chain.light import LightClient
    from cosmos.auth.v1beta1 import query_pb2 as auth_query
    from cosmos.auth.v1beta1 import query_pb2_grpc as auth_grpc
    from cosmos.bank.v1beta1 import query_pb2 as bank_query
    from cosmos.bank.v1beta1 import query_pb2_grpc as bank_grpc
    from infera.store.v1 import query_pb2 as store_query
    from infera.store.v1 import query_pb2_grpc as store_grpc
    from modules.bank import keys as bank_keys

    channel = grpc.insecure_channel(grpc_address)
    key = bank_keys.balance_key(crypto.from_bech32(address), "uinfera")
    light = LightClient(rpc_url=rpc_url, grpc_address=grpc_address)
    calls = {
        "account": lambda: auth_grpc.QueryStub(channel).Account(
            auth_query.QueryAccountRequest(address=address)
        ),
        "balance": lambda: bank_grpc.QueryStub(channel).Balance(
            bank_query.QueryBalanceRequest(address=address, denom="uinfera")
        ),
        "proven": lambda: store_grpc.QueryStub(channel).Proven(
            store_query.QueryProvenRequest(key=key)
        ),
        "proven+verified": lambda: light.get(key),
    }
    call = calls[kind]
    call()  # connect before timing
    ready.put(os.getpid())
    go.wait()
    until = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = 0
    while time.perf_counter() < until:
        start = time.perf_counter()
        try:
            call()
        except Exception:  # noqa: BLE001 - counted, reported
            errors += 1
            continue
        latencies.append(time.perf_counter() - start)
    light.close()
    channel.close()
    out.put((latencies, errors))


class SendLoad(threading.Thread):
    """Bank sends at a steady rate from many accounts (sequences managed locally)."""

    def __init__(self, net: LocalNetwork, rate: int) -> None:
        super().__init__(daemon=True)
        self.rpc = CometRPC(net.nodes[0].rpc_url, timeout=30)
        self.factory = TxFactory(self.rpc, net.chain_id, net.accounts[1:])
        self.sink = net.accounts[0].address
        self.rate = rate
        self.sent = 0
        self.stop = threading.Event()

    def run(self) -> None:
        senders = self.factory.accounts
        tick = 0.1  # seconds per batch
        per_tick = max(1, self.rate // 10)
        next_at = time.monotonic()
        while not self.stop.is_set():
            batch = [
                self.factory.send(senders[(self.sent + i) % len(senders)], self.sink, 1)
                for i in range(per_tick)
            ]
            calls = [("broadcast_tx_async", {"tx": base64.b64encode(t).decode()}) for t in batch]
            self.rpc.batch(calls)
            self.sent += len(batch)
            next_at += tick
            time.sleep(max(0.0, next_at - time.monotonic()))


def committed_txs(rpc: CometRPC, low: int, high: int) -> int:
    """Txs in blocks low..high (inclusive)."""
    total = 0
    for start in range(low, high + 1, 20):
        metas = rpc.call("blockchain", minHeight=str(start), maxHeight=str(min(high, start + 19)))
        total += sum(int(m["num_txs"]) for m in metas["block_metas"])
    return total


def wait_mempool_drained(rpc: CometRPC, limit: int, timeout: float = 60.0) -> int:
    """Wait until at most ``limit`` txs wait in the mempool (the previous phase's backlog)."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = int(rpc.call("num_unconfirmed_txs")["total"])
        if waiting <= limit or time.monotonic() > deadline:
            return waiting
        time.sleep(0.2)


def run_kind(kind: str, net: LocalNetwork, grpc_address: str, clients: int, seconds: float) -> Row:
    rpc = net.nodes[0].rpc
    address = net.accounts[0].address
    context = multiprocessing.get_context("spawn")
    ready, go, out = context.Queue(), context.Event(), context.Queue()
    args = (kind, grpc_address, net.nodes[0].rpc_url, address, seconds, ready, go, out)
    processes = [context.Process(target=_client, args=args, daemon=True) for _ in range(clients)]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=120)  # every client imported, connected and warmed up
    wait_mempool_drained(rpc, limit=2 * SEND_BACKLOG)
    height_before, started = rpc.height(), time.time()
    go.set()
    results = [out.get(timeout=seconds + 120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    height_after = rpc.height()
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
    sends = committed_txs(rpc, height_before + 1, height_after)
    elapsed = time.time() - started
    return Row(
        query=kind,
        clients=clients,
        queries=len(latencies),
        errors=errors,
        qps=len(latencies) / seconds,
        p50_ms=_percentile(latencies, 0.50) * 1e3,
        p99_ms=_percentile(latencies, 0.99) * 1e3,
        mean_ms=(sum(latencies) / len(latencies) * 1e3) if latencies else 0.0,
        committed_sends_per_s=sends / elapsed,
    )


def print_table(rows: list[Row], send_rate: int) -> None:
    print(f"\ngRPC queries, 1 validator, bank-send load offered at {send_rate} tx/s")
    print(f"{'query':<17}{'clients':>8}{'queries':>9}{'q/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'errors':>8}{'sends/s':>9}")  # fmt: skip
    for r in rows:
        print(f"{r.query:<17}{r.clients:>8}{r.queries:>9}{r.qps:>9.0f}{r.p50_ms:>9.2f}"
              f"{r.p99_ms:>9.2f}{r.errors:>8}{r.committed_sends_per_s:>9.0f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per query kind")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per query kind")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client processes")
    parser.add_argument("--send-rate", type=int, default=100, help="bank sends per second")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else args.duration
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        net = LocalNetwork.testnet(pathlib.Path(tmp), validators=1, dev_accounts=33)
        description = json.loads((net.root / "testnet.json").read_text())
        grpc_address = description["nodes"][0]["grpc"]
        load: SendLoad | None = None
        try:
            net.start(min_height=2)
            load = SendLoad(net, args.send_rate)
            load.start()
            time.sleep(2.0)  # let the load reach a steady state
            for kind in KINDS:
                rows.append(run_kind(kind, net, grpc_address, args.clients, seconds))
                print(f"  {kind}: {rows[-1].qps:.0f} q/s", flush=True)
        finally:
            if load is not None:
                load.stop.set()
            net.close()
    print_table(rows, args.send_rate)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "host": {
                    "machine": platform.machine(),
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                },
                "seconds_per_kind": seconds,
                "send_rate_offered": args.send_rate,
                "rows": [asdict(r) for r in rows],
            },
            indent=2,
        )  # fmt: skip
    )
    print(f"wrote {RESULTS}")
    return 1 if any(r.errors or not r.queries for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
