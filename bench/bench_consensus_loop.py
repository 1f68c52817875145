"""Benchmark: how long any query, simulation or tx holds a node's consensus loop, at the limits.

One process is the node, laid out as ``infera start`` lays it out: the ABCI server on the main
event loop, the gRPC server started from it (its own thread and loop, queries on the query
pool), a real LevelDB store holding ``--accounts`` accounts (as many as count_total may count).
A driver process plays CometBFT: per block (one every ``--block-ms``) CheckTx of each of the
block's txs on a mempool connection, then PrepareProposal, ProcessProposal, FinalizeBlock, Commit
and Echo on the consensus connection, timing every request from send to answer. Every block
holds ``--txs`` bank sends plus one tx at the message limit (64 bank sends, the most a tx may
hold). Meanwhile client processes (``--clients`` per kind, closed loop) hammer gRPC with the
heaviest calls the limits allow:

- ``accounts_max_page``: Accounts, limit 1000 (the largest page) with count_total (walks the
  whole listing, MAX_COUNT items: the most one page may read);
- ``abci_query_max_page``: the same page through ``ABCIQuery`` (the ABCI query path);
- ``simulate_max_msgs``: Simulate of a tx with 64 bank sends (the most messages a tx may hold;
  its gas is reported, the cap is the block max gas);
- ``proven``: a balance with its Merkle proof.

Two phases, the same consensus work in both: ``idle`` (the driver alone) and ``load`` (driver +
clients). Reported per phase:

- wall-clock ABCI latency (p50, p99, max) per request as the driver sees it, and the node's loop
  lag (the longest time the event loop could not run). On a loaded machine the OS scheduler
  dominates both: they bound what a user sees, not what the node does;
- scheduler-independent figures, taken in the node around ``chain.abci.server.dispatch`` (the
  bench wraps it; chain code is unchanged): per request, the handling thread's own CPU time
  (``time.thread_time``) and its wall time; wall minus CPU is time the thread was runnable or
  blocked but not running (the GIL held by a query thread, the OS scheduler, disk);
- garbage-collector pauses (count and longest per generation, and on which thread) and
  ``sys.getswitchinterval()``;
- per query kind: calls, p50 and max latency, refusals.

Writes bench/results/consensus_loop.json (``--quick`` adds ``_quick`` to the name,
``--gc-freeze`` ``_gc_freeze``: ``gc.freeze()`` in the node before serving, so the objects built
while loading leave the collector's full walks).

    python bench/bench_consensus_loop.py           # 10 s per phase, 2 clients per kind
    python bench/bench_consensus_loop.py --quick   # 3 s per phase, 1 client per kind
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import pathlib
import platform
import socket
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import chain.pb  # noqa: E402, F401

RESULTS_DIR = pathlib.Path(__file__).resolve().parent / "results"
KINDS = ("accounts_max_page", "abci_query_max_page", "simulate_max_msgs", "proven")
CONSENSUS = ("check_tx", "prepare_proposal", "process_proposal", "finalize_block", "commit")
DRIVER = (*CONSENSUS, "echo")
TARGET_MS = 100.0  # issue 12: no query or tx may hold the consensus loop longer
HEAVY_GAS = 2_000_000  # gas limit of the 64-send tx (it uses about 770k)
HEAVY_FEE = 50_000  # covers HEAVY_GAS at the presets' 0.025 min gas price


@dataclass
class AbciRow:
    phase: str
    request: str
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass
class CpuRow:
    """One request kind on the node's consensus (main) thread, measured inside the node."""

    phase: str
    request: str
    count: int
    cpu_p50_ms: float
    cpu_p99_ms: float
    cpu_max_ms: float
    cpu_max_without_gc_ms: float  # own CPU less the collections run inside the request
    wall_max_ms: float
    wait_p50_ms: float  # wall - own CPU
    wait_max_ms: float


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


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# -- instruments inside the node ---------------------------------------------------------------

# (request kind, on the main thread, wall s, own CPU s, of which GC CPU s) per request
_SAMPLES: list[tuple[str, bool, float, float, float]] = []
# (generation, on the main thread, wall s, own CPU s, the request it ran inside) per collection
_GC_PAUSES: list[tuple[int, bool, float, float, str]] = []
_GC_STARTED: dict[int, tuple[float, float]] = {}
_HANDLING: dict[int, str] = {}  # thread -> the request it is dispatching
_GC_CPU: dict[int, float] = {}  # thread -> CPU seconds it spent collecting, ever


def _instrument() -> None:
    """Time every request ``chain.abci.server`` dispatches (the ABCI server looks ``dispatch``
    up at call time, so wrapping the module attribute covers the loop and the query thread),
    and every garbage collection."""
    from chain.abci import server

    original = server.dispatch
    main = threading.main_thread()

    def timed(app: Any, request: Any) -> Any:
        kind = request.WhichOneof("value") or ""
        wall, cpu = time.perf_counter(), time.thread_time()
        collected = _GC_CPU.get(threading.get_ident(), 0.0)
        _HANDLING[threading.get_ident()] = kind
        try:
            return original(app, request)
        finally:
            _HANDLING.pop(threading.get_ident(), None)
            if kind != "flush":
                _SAMPLES.append(
                    (
                        kind,
                        threading.current_thread() is main,
                        time.perf_counter() - wall,
                        time.thread_time() - cpu,
                        _GC_CPU.get(threading.get_ident(), 0.0) - collected,
                    )
                )

    def on_gc(phase: str, info: dict[str, int]) -> None:
        ident = threading.get_ident()
        if phase == "start":
            _GC_STARTED[ident] = (time.perf_counter(), time.thread_time())
        elif ident in _GC_STARTED:
            wall, cpu = _GC_STARTED.pop(ident)
            pause = time.perf_counter() - wall, time.thread_time() - cpu
            during = _HANDLING.get(ident, "")
            _GC_CPU[ident] = _GC_CPU.get(ident, 0.0) + pause[1]
            _GC_PAUSES.append((info["generation"], ident == main.ident, *pause, during))

    server.dispatch = timed  # type: ignore[assignment]
    gc.callbacks.append(on_gc)


# -- the driver: CometBFT's connections ----------------------------------------------------------


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
    """Per block, paced: CheckTx of its txs (mempool connection), then PrepareProposal,
    ProcessProposal, FinalizeBlock, Commit, Echo (consensus connection); sends ((request,
    seconds) pairs, failed txs) to ``out``."""
    from chain.abci.server import frame
    from tendermint.abci import types_pb2 as abci
    from tests.harness import GENESIS_TIME, finalize_request

    consensus = socket.create_connection(("127.0.0.1", port))
    mempool = socket.create_connection(("127.0.0.1", port))
    files = {consensus: consensus.makefile("rb"), mempool: mempool.makefile("rb")}
    flush = frame(abci.Request(flush=abci.RequestFlush()))
    timings: list[tuple[str, float]] = []
    failed = 0

    def ask(sock: socket.socket, name: str, request: Any) -> Any:
        t = time.perf_counter()
        sock.sendall(frame(request) + flush)
        answer = _read(files[sock])
        _read(files[sock])
        timings.append((name, time.perf_counter() - t))
        if answer.WhichOneof("value") == "exception":
            raise SystemExit(f"{name} failed: {answer.exception.error}")
        return answer

    for offset, txs in enumerate(blocks):
        started = time.perf_counter()
        height = first + offset
        for raw in txs:
            answer = ask(mempool, "check_tx", abci.Request(check_tx=abci.RequestCheckTx(tx=raw)))
            failed += answer.check_tx.code != 0
        prepare = abci.RequestPrepareProposal(max_tx_bytes=22020096, txs=txs, height=height)
        prepare.time.seconds = GENESIS_TIME + height
        chosen = ask(consensus, "prepare_proposal", abci.Request(prepare_proposal=prepare))
        block = list(chosen.prepare_proposal.txs)
        process = abci.RequestProcessProposal(txs=block, height=height)
        process.time.seconds = GENESIS_TIME + height
        verdict = ask(consensus, "process_proposal", abci.Request(process_proposal=process))
        if verdict.process_proposal.status != abci.ResponseProcessProposal.ACCEPT:
            raise SystemExit(f"block {height} rejected by ProcessProposal")
        finalize = finalize_request(height, block)
        done = ask(consensus, "finalize_block", abci.Request(finalize_block=finalize))
        failed += sum(r.code != 0 for r in done.finalize_block.tx_results)
        failed += len(txs) - len(block)
        ask(consensus, "commit", abci.Request(commit=abci.RequestCommit()))
        ask(consensus, "echo", abci.Request(echo=abci.RequestEcho(message="ping")))
        time.sleep(max(0.0, block_ms / 1000 - (time.perf_counter() - started)))
    out.put((timings, failed))


# -- query load ------------------------------------------------------------------------------


def _client(kind: str, address: str, payload: bytes, seconds: float, go: Any, out: Any) -> None:
    import grpc

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
    """Pre-signed txs per block: ``per_block`` bank sends (senders rotating, sequences tracked)
    and one tx of MAX_MESSAGES sends from user1 (the Simulate payload's sender, user0, keeps its
    sequence, so Simulate stays valid)."""
    from chain.tx import MAX_MESSAGES
    from tests.harness import send_msg

    heavy, users = chain_.keys[1], chain_.keys[2:]
    blocks = []
    for height in range(count):
        txs = []
        for i in range(per_block):
            sender = users[(height * per_block + i) % len(users)]
            txs.append(chain_.tx(sender, send_msg(sender, chain_.keys[0].address, 1)))
        sends = [send_msg(heavy, chain_.keys[0].address, 1) for _ in range(MAX_MESSAGES)]
        txs.append(chain_.tx(heavy, *sends, fee=HEAVY_FEE, gas=HEAVY_GAS))
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
) -> dict[str, Any]:
    """Run one phase: the driver's timings, failed txs, the loop's longest lag (s), client
    results, and the node-side samples and GC pauses taken while the driver ran."""
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
    loop = asyncio.get_running_loop()
    _SAMPLES.clear()
    _GC_PAUSES.clear()
    tracked = len(gc.get_objects())  # what a full collection walks
    driver.start()
    while driver.is_alive():
        t = time.perf_counter()
        await asyncio.sleep(0.002)
        lag = max(lag, time.perf_counter() - t - 0.002)
    samples, pauses = list(_SAMPLES), list(_GC_PAUSES)
    timings, failed = await loop.run_in_executor(None, abci_out.get)
    results = [await loop.run_in_executor(None, query_out.get) for _ in clients]
    for proc in [driver, *clients]:
        await loop.run_in_executor(None, proc.join)
    chain_.height = chain_.store.last_height
    return {
        "timings": timings,
        "failed_txs": failed,
        "lag": lag,
        "results": results,
        "samples": samples,
        "gc": pauses,
        "gc_tracked_objects": tracked,
    }


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
        _instrument()
        if args.gc_freeze:  # what a node could do after loading: old objects leave the GC's walk
            gc.freeze()
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


def _cpu_rows(phase: str, samples: list[tuple[str, bool, float, float, float]]) -> list[CpuRow]:
    rows = []
    for request in CONSENSUS:
        mine = [(s[2], s[3], s[4]) for s in samples if s[1] and s[0] == request]
        cpus = [cpu for _, cpu, _ in mine]
        waits = [max(0.0, wall - cpu) for wall, cpu, _ in mine]
        rows.append(
            CpuRow(
                phase,
                request,
                len(mine),
                _ms(_pct(cpus, 0.5)),
                _ms(_pct(cpus, 0.99)),
                _ms(max(cpus, default=0.0)),
                _ms(max((cpu - gc_cpu for _, cpu, gc_cpu in mine), default=0.0)),
                _ms(max((wall for wall, _, _ in mine), default=0.0)),
                _ms(_pct(waits, 0.5)),
                _ms(max(waits, default=0.0)),
            )
        )
    return rows


def _gc_summary(pauses: list[tuple[int, bool, float, float, str]]) -> dict[str, Any]:
    """Per generation: collections, the longest (wall and own CPU), on which thread, inside
    which request ("" outside any). A collection holds the GIL: every thread waits for it."""
    summary: dict[str, Any] = {}
    for generation in (0, 1, 2):
        mine = [p for p in pauses if p[0] == generation]
        longest = max(mine, key=lambda p: p[2], default=None)
        summary[f"gen{generation}"] = {
            "count": len(mine),
            "max_ms": _ms(longest[2]) if longest else 0.0,
            "max_cpu_ms": _ms(max((p[3] for p in mine), default=0.0)),
            "longest_on_main_thread": longest[1] if longest else None,
            "longest_during": longest[4] if longest else None,
        }
    return summary


def _route_selection() -> list[dict[str, Any]]:
    """Own CPU of one route selection (``modules.sharding.logic.compute_routes``, what
    MsgSubmitJob and end-block assignment run on the consensus thread) at the sharding params'
    limits: ``max_candidates`` spans, ``max_redundancy`` routes, ``max_search_steps``. Called
    directly (no tx around it), before the phases. ``backtracking`` is the worst shape found:
    32 operators with a span on each of 8 layers (several disjoint spans per operator are
    allowed), so the flow check is over-optimistic and the search runs to ``max_search_steps``."""
    from hashlib import sha256

    from modules.sharding.logic import Prng, compute_routes
    from modules.sharding.params import default_params
    from modules.sharding.types import Candidate

    params = default_params()

    def op(i: int) -> bytes:
        return sha256(b"bench-operator:%d" % i).digest()[:20]

    shapes = {
        "r16_one_layer_spans": (
            16,
            16,
            [(op(16 * n + k), n) for n in range(16) for k in range(16)],
        ),
        "r2_one_layer_spans": (128, 2, [(op(2 * n + k), n) for n in range(128) for k in range(2)]),
        "r16_backtracking": (8, 16, [(op((k + n) % 32), n) for n in range(8) for k in range(32)]),
    }
    rows = []
    for name, (layers, redundancy, spans) in shapes.items():
        candidates = [Candidate(o, start, start + 1, 1000, 500) for o, start in spans]
        charged: list[int] = []
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            routes = compute_routes(
                candidates,
                layers,
                redundancy,
                Prng(b"bench"),
                params.max_search_steps,
                charged.append,
            )
            outcome = f"{len(routes)} routes"
        except Exception as exc:  # the selection's own refusal (ErrInsufficientCoverage)
            outcome = type(exc).__name__
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        rows.append(
            {
                "shape": name,
                "candidates": len(candidates),
                "layers": layers,
                "redundancy": redundancy,
                "flow_checks_charged": len(charged),
                "gas": sum(charged) * params.gas_per_candidate,
                "outcome": outcome,
                "cpu_ms": _ms(cpu),
                "wall_ms": _ms(wall),
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per phase, 1 client per kind")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=2, help="client processes per query kind")
    parser.add_argument(
        "--txs", type=int, default=10, help="bank sends per block (plus one 64-send tx)"
    )
    parser.add_argument("--block-ms", type=int, default=200, help="one block every this many ms")
    parser.add_argument("--accounts", type=int, default=0, help="extra accounts (0: MAX_COUNT)")
    parser.add_argument(
        "--switch-ms", type=float, default=0.0, help="sys.setswitchinterval in the node (0: as is)"
    )
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() in the node before serving"
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.clients = 3.0, 1
    if args.switch_ms:
        sys.setswitchinterval(args.switch_ms / 1000)
    routes = _route_selection()
    raw = asyncio.run(_run(args))
    abci_rows, cpu_rows, queries, lags, gcs, failed, off_loop = [], [], [], {}, {}, {}, {}
    for phase, data in raw["phases"].items():
        lags[phase] = _ms(data["lag"])
        gcs[phase] = _gc_summary(data["gc"]) | {"tracked_objects": data["gc_tracked_objects"]}
        failed[phase] = data["failed_txs"]
        cpu_rows += _cpu_rows(phase, data["samples"])
        others = [(s[0], s[3]) for s in data["samples"] if not s[1]]
        off_loop[phase] = {
            kind: {
                "count": sum(k == kind for k, _ in others),
                "cpu_max_ms": _ms(max(c for k, c in others if k == kind)),
            }
            for kind in sorted({k for k, _ in others})
        }
        for request in DRIVER:
            values = [s * 1000 for name, s in data["timings"] if name == request]
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
                mine = [r for r in data["results"] if r[0] == kind]
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
    cpu_max = {p: max(r.cpu_max_ms for r in cpu_rows if r.phase == p) for p in lags}
    print(
        f"\nnode state: {raw['accounts']} extra accounts; Simulate of 64 sends: "
        f"{raw['simulate_gas']} gas; {os.cpu_count()} cores, load average {os.getloadavg()}; "
        f"switch interval {sys.getswitchinterval() * 1000:.1f} ms; failed txs {failed}"
    )
    print("\nown CPU of the consensus thread per request (inside the node)")
    print(
        f"{'phase':6} {'request':17} {'count':>6} {'cpu p50':>8} {'cpu p99':>8} {'cpu max':>8} "
        f"{'no GC':>8} {'wall max':>8} {'wait p50':>8} {'wait max':>8}"
    )
    for c in cpu_rows:
        print(
            f"{c.phase:6} {c.request:17} {c.count:6d} {c.cpu_p50_ms:8.2f} {c.cpu_p99_ms:8.2f} "
            f"{c.cpu_max_ms:8.2f} {c.cpu_max_without_gc_ms:8.2f} {c.wall_max_ms:8.2f} {c.wait_p50_ms:8.2f} {c.wait_max_ms:8.2f}"
        )
    print(f"off the loop (worker threads): {off_loop}")
    print(f"GC pauses: {gcs}")
    print("\nwall-clock latency as the driver sees it (send to answer)")
    print(f"{'phase':6} {'request':17} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for r in abci_rows:
        print(
            f"{r.phase:6} {r.request:17} {r.count:6d} {r.p50_ms:8.1f} {r.p99_ms:8.1f} {r.max_ms:8.1f}"
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
    verdict = "within" if cpu_max["load"] <= TARGET_MS else "OVER"
    print(
        f"\nlongest own-CPU consensus request: idle {cpu_max['idle']} ms, under load "
        f"{cpu_max['load']} ms ({verdict} the {TARGET_MS} ms target); longest wall-clock ABCI "
        f"request under load: {load_max} ms"
    )
    name = "consensus_loop" + "_quick" * args.quick + "_gc_freeze" * args.gc_freeze
    print("\nroute selection at the sharding limits (direct call, before the phases)")
    for row in routes:
        print(
            f"{row['shape']:20} {row['candidates']} spans, {row['layers']} layers, "
            f"r={row['redundancy']}: {row['flow_checks_charged']} steps charged, "
            f"{row['gas']} gas, {row['outcome']}; own CPU {row['cpu_ms']} ms, wall {row['wall_ms']} ms"
        )
    results = RESULTS_DIR / f"{name}.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(
        json.dumps(
            {
                "machine": {
                    "cores": os.cpu_count(),
                    "load_average": os.getloadavg(),
                    "python": platform.python_version(),
                    "switch_interval_ms": sys.getswitchinterval() * 1000,
                },
                "settings": vars(args) | {"accounts": raw["accounts"]},
                "simulate_gas_64_sends": raw["simulate_gas"],
                "failed_txs": failed,
                "consensus_thread_cpu": [asdict(c) for c in cpu_rows],
                "off_loop_cpu": off_loop,
                "gc_pauses": gcs,
                "abci_wall": [asdict(r) for r in abci_rows],
                "loop_lag_ms": lags,
                "queries": [asdict(q) for q in queries],
                "longest_consensus_cpu_ms": cpu_max,
                "route_selection_at_limits": routes,
                "longest_abci_wall_under_load_ms": load_max,
                "target_ms": TARGET_MS,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
