"""Benchmark: how long any query or simulation holds a node's consensus loop, at the params' limits.

One process is the node, laid out as ``infera start`` lays it out: the ABCI server on the main
event loop, the gRPC server started from it (its own thread and loop, queries on the query
pool), a real LevelDB store holding ``--accounts`` accounts (as many as count_total may count).
A driver process plays CometBFT's consensus connection: FinalizeBlock (``--txs`` bank sends) +
Commit + Echo every ``--block-ms``, timing every request from send to answer. Meanwhile client
processes (``--clients`` per kind, closed loop) hammer gRPC with the heaviest calls the limits
allow:

- ``accounts_max_page``: Accounts, limit 1000 (the largest page) with count_total (walks the
  whole listing, MAX_COUNT items: the most one page may read);
- ``abci_query_max_page``: the same page through ``ABCIQuery`` (the ABCI query path);
- ``simulate_max_msgs``: Simulate of a tx with 64 bank sends (the most messages a tx may hold;
  its gas is reported, the cap is the block max gas);
- ``proven``: a balance with its Merkle proof.

Two phases: ``idle`` (the driver alone) and ``load`` (driver + clients). Reported per phase:
ABCI latency (p50, p99, max) per request type, and the node's loop lag (the longest time the
event loop could not run: what "holding the loop" means); per query kind: calls, p50 and max
latency, refusals. Writes bench/results/consensus_loop.json.

    python bench/bench_consensus_loop.py           # 10 s per phase
    python bench/bench_consensus_loop.py --quick   # 4 s per phase
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import pathlib
import platform
import socket
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import chain.pb  # noqa: E402, F401

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "consensus_loop.json"
KINDS = ("accounts_max_page", "abci_query_max_page", "simulate_max_msgs", "proven")
TARGET_MS = 100.0  # issue 12: no query or tx may hold the consensus loop longer


@dataclass
class AbciRow:
    phase: str
    request: str
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass
class QueryRow:
    query: str
    clients: int
    calls: int
    refused: int
    errors: int
    p50_ms: float
    max_ms: float


def _pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


# -- the driver: CometBFT's consensus connection ---------------------------------------------


def _read(file: Any) -> Any:
    from tendermint.abci import types_pb2 as abci

    length = shift = 0
    while True:
        byte = file.read(1)[0]
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
    return abci.Response.FromString(file.read(length))


def _driver(port: int, first: int, blocks: list[list[bytes]], block_ms: int, out: Any) -> None:
    """FinalizeBlock + Commit + Echo per block, paced; sends (request, seconds) pairs to ``out``."""
    from chain.abci.server import frame
    from tendermint.abci import types_pb2 as abci
    from tests.harness import finalize_request

    sock = socket.create_connection(("127.0.0.1", port))
    file = sock.makefile("rb")
    flush = frame(abci.Request(flush=abci.RequestFlush()))
    timings: list[tuple[str, float]] = []
    for offset, txs in enumerate(blocks):
        started = time.perf_counter()
        requests = (
            ("finalize_block", abci.Request(finalize_block=finalize_request(first + offset, txs))),
            ("commit", abci.Request(commit=abci.RequestCommit())),
            ("echo", abci.Request(echo=abci.RequestEcho(message="ping"))),
        )
        for name, request in requests:
            t = time.perf_counter()
            sock.sendall(frame(request) + flush)
            answer = _read(file)
            _read(file)
            timings.append((name, time.perf_counter() - t))
            if answer.WhichOneof("value") == "exception":
                raise SystemExit(f"{name} failed: {answer.exception.error}")
        time.sleep(max(0.0, block_ms / 1000 - (time.perf_counter() - started)))
    out.put(timings)


# -- query load ------------------------------------------------------------------------------


def _client(kind: str, address: str, payload: bytes, seconds: float, go: Any, out: Any) -> None:
    import grpc

    from cosmos.auth.v1beta1 import query_pb2 as auth_query
    from cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query

    channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 1 << 26)])
    paths = {
        "accounts_max_page": "/cosmos.auth.v1beta1.Query/Accounts",
        "abci_query_max_page": "/cosmos.base.tendermint.v1beta1.Service/ABCIQuery",
        "simulate_max_msgs": "/cosmos.tx.v1beta1.Service/Simulate",
        "proven": "/infera.store.v1.Query/Proven",
    }
    call = channel.unary_unary(paths[kind])
    if kind == "abci_query_max_page":
        payload = tm_query.ABCIQueryRequest(
            path="/cosmos.auth.v1beta1.Query/Accounts", data=payload
        ).SerializeToString()
    del auth_query
    go.wait()
    latencies: list[float] = []
    refused = errors = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        try:
            call(payload, timeout=60)
            latencies.append(time.perf_counter() - t)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                refused += 1
            else:
                errors += 1
    channel.close()
    out.put((kind, latencies, refused, errors))


# -- the node --------------------------------------------------------------------------------


def _build_chain(home: pathlib.Path, accounts: int, users: int) -> Any:
    """A TestChain at height 1 whose state holds ``accounts`` extra accounts (written into the
    genesis branch before block 1 commits, as a long-running chain would hold them)."""
    from hashlib import sha256

    from chain import crypto
    from cosmos.auth.v1beta1 import auth_pb2
    from modules.auth import keys as auth_keys
    from tests.harness import TestChain

    chain_ = TestChain(home, n_accounts=users)
    chain_.init()
    pending = chain_.app._pending  # the genesis branch, committed with block 1
    for i in range(accounts):
        address = sha256(b"bench-account:%d" % i).digest()[:20]
        account = auth_pb2.BaseAccount(address=crypto.to_bech32(address), account_number=1000 + i)
        pending.set(auth_keys.account_key(address), account.SerializeToString())
    chain_.block()
    return chain_


def _payloads(chain_: Any) -> dict[str, bytes]:
    from chain.tx import MAX_MESSAGES
    from cosmos.auth.v1beta1 import query_pb2 as auth_query
    from cosmos.base.query.v1beta1 import pagination_pb2
    from cosmos.tx.v1beta1 import service_pb2
    from infera.store.v1 import query_pb2 as store_query
    from modules.bank import keys as bank_keys
    from tests.harness import DENOM, send_msg

    page = pagination_pb2.PageRequest(limit=1000, count_total=True)
    accounts = auth_query.QueryAccountsRequest(pagination=page).SerializeToString()
    a, b = chain_.keys[0], chain_.keys[1]
    sends = [send_msg(a, b.address, 1) for _ in range(MAX_MESSAGES)]
    tx = chain_.tx(a, *sends, fee=0, gas=0, bump=False)
    balance_key = bank_keys.balance_key(a.address, DENOM)
    return {
        "accounts_max_page": accounts,
        "abci_query_max_page": accounts,
        "simulate_max_msgs": service_pb2.SimulateRequest(tx_bytes=tx).SerializeToString(),
        "proven": store_query.QueryProvenRequest(key=balance_key).SerializeToString(),
        "_simulate_tx": tx,
    }


def _blocks(chain_: Any, count: int, per_block: int) -> list[list[bytes]]:
    """Pre-signed bank sends: ``per_block`` per block, senders rotating (sequences tracked)."""
    from tests.harness import send_msg

    users = chain_.keys[2:]
    blocks = []
    for height in range(count):
        txs = []
        for i in range(per_block):
            sender = users[(height * per_block + i) % len(users)]
            txs.append(chain_.tx(sender, send_msg(sender, chain_.keys[0].address, 1)))
        blocks.append(txs)
    return blocks


async def _phase(
    args: argparse.Namespace,
    ctx: Any,
    chain_: Any,
    port: int,
    grpc_address: str,
    payloads: dict[str, bytes],
    load: bool,
) -> tuple[list[tuple[str, float]], float, list[tuple[str, list[float], int, int]]]:
    """Run one phase; (ABCI timings, the loop's longest lag in s, client results)."""
    blocks = _blocks(chain_, max(1, int(args.seconds * 1000 / args.block_ms)), args.txs)
    abci_out, query_out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    clients = []
    if load:
        for kind in KINDS:
            for _ in range(args.clients):
                proc = ctx.Process(
                    target=_client,
                    args=(kind, grpc_address, payloads[kind], args.seconds, go, query_out),
                )
                proc.start()
                clients.append(proc)
        await asyncio.sleep(2.0)  # clients connected
    go.set()
    await asyncio.sleep(0.3 if load else 0)  # the load is running
    driver = ctx.Process(
        target=_driver,
        args=(port, chain_.store.last_height + 1, blocks, args.block_ms, abci_out),
    )
    lag = 0.0
    driver.start()
    loop = asyncio.get_running_loop()
    while driver.is_alive():
        t = time.perf_counter()
        await asyncio.sleep(0.002)
        lag = max(lag, time.perf_counter() - t - 0.002)
    timings = await loop.run_in_executor(None, abci_out.get)
    results = [await loop.run_in_executor(None, query_out.get) for _ in clients]
    for proc in [driver, *clients]:
        await loop.run_in_executor(None, proc.join)
    chain_.height = chain_.store.last_height
    return timings, lag, results


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    from chain.abci.server import ABCIServer
    from chain.cosmos_pagination import MAX_COUNT
    from chain.grpc import start_grpc_server

    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as home:
        accounts = args.accounts if args.accounts else MAX_COUNT - 64
        chain_ = _build_chain(pathlib.Path(home), accounts, users=40)
        payloads = _payloads(chain_)
        simulated = chain_.app.simulate(payloads.pop("_simulate_tx"))
        abci_server = ABCIServer(chain_.app, port=0)
        await abci_server.start()
        port = abci_server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        grpc_server = await start_grpc_server(chain_.app, "127.0.0.1:0", "http://127.0.0.1:9")
        address = f"127.0.0.1:{grpc_server.port}"
        try:
            phases = {}
            for name, load in (("idle", False), ("load", True)):
                phases[name] = await _phase(args, ctx, chain_, port, address, payloads, load)
        finally:
            await grpc_server.stop(0)
            await abci_server.stop()
            chain_.store.close()
    return {"phases": phases, "simulate_gas": simulated.gas_used, "accounts": accounts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 s per phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=2, help="client processes per query kind")
    parser.add_argument("--txs", type=int, default=10, help="bank sends per block")
    parser.add_argument("--block-ms", type=int, default=200, help="one block every this many ms")
    parser.add_argument("--accounts", type=int, default=0, help="extra accounts (0: MAX_COUNT)")
    parser.add_argument(
        "--switch-ms", type=float, default=0.0, help="sys.setswitchinterval in the node (0: as is)"
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds = 4.0
    if args.switch_ms:
        sys.setswitchinterval(args.switch_ms / 1000)
    raw = asyncio.run(_run(args))
    abci_rows, queries, lags = [], [], {}
    for phase, (timings, lag, results) in raw["phases"].items():
        lags[phase] = round(lag * 1000, 1)
        for request in ("finalize_block", "commit", "echo"):
            values = [s * 1000 for name, s in timings if name == request]
            abci_rows.append(
                AbciRow(
                    phase,
                    request,
                    len(values),
                    round(_pct(values, 0.5), 1),
                    round(_pct(values, 0.99), 1),
                    round(max(values), 1),
                )
            )
        if phase == "load":
            for kind in KINDS:
                mine = [r for r in results if r[0] == kind]
                values = [s * 1000 for r in mine for s in r[1]]
                queries.append(
                    QueryRow(
                        kind,
                        len(mine),
                        len(values),
                        sum(r[2] for r in mine),
                        sum(r[3] for r in mine),
                        round(_pct(values, 0.5), 1),
                        round(max(values, default=0.0), 1),
                    )
                )
    load_max = max(r.max_ms for r in abci_rows if r.phase == "load")
    print(
        f"\nnode state: {raw['accounts']} extra accounts; Simulate of 64 sends: "
        f"{raw['simulate_gas']} gas; {os.cpu_count()} cores, load average {os.getloadavg()}"
    )
    print(f"\n{'phase':6} {'request':15} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for r in abci_rows:
        print(
            f"{r.phase:6} {r.request:15} {r.count:6d} {r.p50_ms:8.1f} {r.p99_ms:8.1f} {r.max_ms:8.1f}"
        )
    print(f"\nlongest event-loop lag: idle {lags['idle']} ms, under load {lags['load']} ms")
    print(
        f"\n{'query (load phase)':22} {'clients':>7} {'calls':>6} {'refused':>7} {'errors':>6} "
        f"{'p50 ms':>8} {'max ms':>8}"
    )
    for q in queries:
        print(
            f"{q.query:22} {q.clients:7d} {q.calls:6d} {q.refused:7d} {q.errors:6d} "
            f"{q.p50_ms:8.1f} {q.max_ms:8.1f}"
        )
    verdict = "within" if load_max < TARGET_MS else "OVER"
    print(f"\nlongest ABCI request under load: {load_max} ms ({verdict} the {TARGET_MS} ms target)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "cores": os.cpu_count(),
                    "load_average": os.getloadavg(),
                    "python": platform.python_version(),
                },
                "settings": vars(args) | {"accounts": raw["accounts"]},
                "simulate_gas_64_sends": raw["simulate_gas"],
                "abci": [asdict(r) for r in abci_rows],
                "loop_lag_ms": lags,
                "queries": [asdict(q) for q in queries],
                "longest_abci_under_load_ms": load_max,
                "target_ms": TARGET_MS,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
