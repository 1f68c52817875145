"""Benchmark: bank-send throughput of real networks, and the app's cost per tx in-process.

1. In-process (no CometBFT; ``InferaApp`` driven through its ABCI methods, as the tests do):
   CheckTx (new), CheckTx (recheck), FinalizeBlock and Commit cost per tx, on blocks of
   ``--block-txs`` bank sends from many accounts. ``--profile`` prints where FinalizeBlock's
   and CheckTx's time goes. Then CPU per tx by phase (decode, ante, signature, execution, store,
   hashing, commit, events, other) from thread-CPU wrappers around the named methods.
2. Networks of 1 and 4 validators made by ``infera testnet`` on this host: pre-signed sends from
   ``--accounts`` accounts are submitted concurrently (JSON-RPC batches of
   ``broadcast_tx_async``, or ``_sync`` with ``--sync``; each sender on one node so its sequences
   stay in order), keeping at most ``--window`` txs uncommitted; committed tx/s = txs / (time the
   block holding the last tx was seen - first submit).
   A block holds at most block.max_gas / ``--send-gas`` sends (docs/throughput.md); each block's
   size is in the JSON. CometBFT's share of node CPU comes from the processes' /proc CPU times.

Prints a table; writes bench/results/throughput.json.

    python bench/bench_throughput.py              # 20k txs per network
    python bench/bench_throughput.py --quick      # 3k txs per network, fewer in-process blocks
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import pathlib
import platform
import pstats
import random
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from chain.cli.rpc import CometRPC  # noqa: E402
from chain.vote_extensions import is_injection_height  # noqa: E402
from tendermint.abci import types_pb2 as abci  # noqa: E402
from tests.harness import Key, TestChain, send_msg  # noqa: E402
from tests.integration.conftest import LocalNetwork, TxFactory  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "throughput.json"
SEND_GAS, SEND_FEE = 60_000, 1_500
# broadcast_tx_async by default: CometBFT's ABCI socket client flushes queued requests at most
# every 20 ms, so a caller waiting for each CheckTx (sync) gets ~50 tx/s per connection; async
# calls are pipelined. ``--sync`` switches (and then CheckTx rejections are counted exactly).
METHOD = ["broadcast_tx_async"]


# -- 1. in-process ------------------------------------------------------------------------------


@dataclass
class AppCost:
    """CPU microseconds per tx of each ABCI step, in this process without CometBFT.

    CPU time of the measuring thread (``time.thread_time``), not wall time, so that other
    processes on the host do not inflate the figures.
    """

    txs_per_block: int
    blocks: int
    check_tx_us: float  # CheckTx (new) per tx
    recheck_tx_us: float  # CheckTx (recheck, signature cached) per tx
    finalize_us: float  # FinalizeBlock per tx (execution + staging the app hash)
    commit_ms: float  # Commit per block (one synced LevelDB write)
    app_us_per_tx: float  # check + finalize + commit/txs: one node's app work per tx


def measure_app(block_txs: int, blocks: int, profile: bool) -> tuple[AppCost, str]:
    """Drive the real app over a real store through ABCI calls; returns costs and a profile."""
    with tempfile.TemporaryDirectory() as tmp:
        chain = TestChain(pathlib.Path(tmp) / "app", n_accounts=block_txs)
        chain.init()
        chain.block()
        sink = Key("sink").address
        check = recheck = finalize = commit = 0.0
        profiler = cProfile.Profile() if profile else None
        for _ in range(blocks):
            txs = [
                chain.tx(k, send_msg(k, sink, 1), gas=SEND_GAS, fee=SEND_FEE) for k in chain.keys
            ]
            if profiler:
                profiler.enable()
            start = time.thread_time()
            for raw in txs:
                assert chain.check(raw).code == 0
            check += time.thread_time() - start
            chain.app._check = type(chain.app._check)(chain.store.latest())  # as after a Commit
            start = time.thread_time()
            for raw in txs:
                chain.app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.RECHECK))
            recheck += time.thread_time() - start
            chain.height += 1
            request = _finalize_request(chain.height, txs)
            start = time.thread_time()
            response = chain.app.finalize_block(request)
            finalize += time.thread_time() - start
            start = time.thread_time()
            chain.app.commit(abci.RequestCommit())
            commit += time.thread_time() - start
            if profiler:
                profiler.disable()
            assert all(r.code == 0 for r in response.tx_results), response.tx_results[0].log
        chain.store.close()
    n = block_txs * blocks
    cost = AppCost(
        txs_per_block=block_txs,
        blocks=blocks,
        check_tx_us=check / n * 1e6,
        recheck_tx_us=recheck / n * 1e6,
        finalize_us=finalize / n * 1e6,
        commit_ms=commit / blocks * 1e3,
        app_us_per_tx=(check + finalize + commit) / n * 1e6,
    )
    return cost, _profile_text(profiler) if profiler else ""


def _finalize_request(height: int, txs: list[bytes]) -> abci.RequestFinalizeBlock:
    from tests.harness import finalize_request

    return finalize_request(height, txs)


def _profile_text(profiler: cProfile.Profile, top: int = 30) -> str:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# -- 1b. CPU per tx by phase --------------------------------------------------------------------


class PhaseClock:
    """Exclusive CPU time (``time.thread_time``) per phase, from wrappers around named methods.

    A phase's time excludes the phases called inside it (signature inside ante, store access
    inside execution), so the phases of one ABCI call add up to the call's bracketed time.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[list[float]] = []  # [start, time spent in nested phases]

    def wrap(self, owner: object, name: str, phase: str) -> None:
        inner = getattr(owner, name)
        clock = self

        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            frame = [time.thread_time(), 0.0]
            clock._stack.append(frame)
            try:
                return inner(*args, **kwargs)
            finally:
                clock._stack.pop()
                spent = time.thread_time() - frame[0]
                clock.seconds[phase] = clock.seconds.get(phase, 0.0) + spent - frame[1]
                clock.calls[phase] = clock.calls.get(phase, 0) + 1
                if clock._stack:
                    clock._stack[-1][1] += spent

        setattr(owner, name, timed)


PHASES = (
    "decode",  # TxDecoder.decode (FinalizeBlock hits the CheckTx decode cache)
    "ante",  # AnteHandler.run without the signature and store access inside it
    "signature",  # SignatureCache.verify: secp256k1 in CheckTx, a cache hit in FinalizeBlock
    "execution",  # TxRunner._run_msgs without the store access inside it (bank send)
    "store",  # GasKVStore get/set/delete, CacheStore.write (branch writes), branch.changes()
    "hashing",  # CommitStore.stage: the new app hash over the block's changes
    "commit",  # CommitStore.commit: one synced LevelDB write batch
    "events",  # the runner's tx events and FinalizeBlock's ExecTxResult protobufs
    "other",  # the rest of each ABCI call (runner bookkeeping, events, results, modules)
)


def wrapper_cost_us(calls: int = 200_000) -> float:
    """CPU microseconds one ``PhaseClock`` wrapper adds to a call (a wrapped no-op vs a bare one)."""

    class Probe:
        def noop(self) -> None:
            return None

    probe = Probe()
    start = time.thread_time()
    for _ in range(calls):
        probe.noop()
    bare = time.thread_time() - start
    PhaseClock().wrap(Probe, "noop", "probe")
    start = time.thread_time()
    for _ in range(calls):
        probe.noop()
    return round((time.thread_time() - start - bare) / calls * 1e6, 2)


def measure_phases(block_txs: int, blocks: int) -> dict[str, dict[str, float]]:
    """CPU microseconds per tx of each phase, per ABCI call kind (CheckTx, FinalizeBlock+Commit).

    Same load as ``measure_app``; wrappers cost ~1 us per wrapped call, so the bracketed totals
    are a little above ``measure_app``'s and both are reported.
    """
    import chain.app as app_module
    import chain.runner as runner_module
    from chain.ante import AnteHandler, SignatureCache
    from chain.gas import GasKVStore
    from chain.runner import TxRunner
    from chain.store import CacheStore
    from chain.store.commit import CommitStore
    from chain.tx import TxDecoder

    clock = PhaseClock()
    saved = [
        (cls, name, vars(cls)[name])
        for cls, name in (
            (TxDecoder, "decode"),
            (AnteHandler, "run"),
            (SignatureCache, "verify"),
            (TxRunner, "_run_msgs"),
            (GasKVStore, "get"),
            (GasKVStore, "set"),
            (GasKVStore, "delete"),
            (CacheStore, "write"),
            (CacheStore, "changes"),
            (CommitStore, "stage"),
            (CommitStore, "commit"),
            (runner_module, "tx_events"),
            (app_module, "_exec_result"),
        )
    ]
    phase_of = {
        "decode": "decode",
        "run": "ante",
        "verify": "signature",
        "_run_msgs": "execution",
        "get": "store",
        "set": "store",
        "delete": "store",
        "write": "store",
        "changes": "store",
        "stage": "hashing",
        "commit": "commit",
        "tx_events": "events",
        "_exec_result": "events",
    }
    for cls, name, _ in saved:
        clock.wrap(cls, name, phase_of[name])
    out: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            chain = TestChain(pathlib.Path(tmp) / "app", n_accounts=block_txs)
            chain.init()
            chain.block()
            sink = Key("sink").address
            totals = {"check_tx": 0.0, "finalize_commit": 0.0}
            split = {"check_tx": {}, "finalize_commit": {}}  # type: dict[str, dict[str, float]]
            calls = {"check_tx": {}, "finalize_commit": {}}  # type: dict[str, dict[str, int]]
            for _ in range(blocks):
                txs = [
                    chain.tx(k, send_msg(k, sink, 1), gas=SEND_GAS, fee=SEND_FEE)
                    for k in chain.keys
                ]
                for kind in ("check_tx", "finalize_commit"):
                    clock.seconds, clock.calls = {}, {}
                    start = time.thread_time()
                    if kind == "check_tx":
                        assert all(chain.check(raw).code == 0 for raw in txs)
                    else:
                        _finalize_and_commit(chain, txs)
                    totals[kind] += time.thread_time() - start
                    for phase, s in clock.seconds.items():
                        split[kind][phase] = split[kind].get(phase, 0.0) + s
                    for phase, c in clock.calls.items():
                        calls[kind][phase] = calls[kind].get(phase, 0) + c
            chain.store.close()
    finally:
        for cls, name, original in saved:
            setattr(cls, name, original)
    n = block_txs * blocks
    for kind, parts in split.items():
        row = {p: round(parts.get(p, 0.0) / n * 1e6, 1) for p in PHASES if p != "other"}
        row["other"] = round((totals[kind] - sum(parts.values())) / n * 1e6, 1)
        row["total"] = round(totals[kind] / n * 1e6, 1)
        row["wrapped_calls_per_tx"] = round(sum(calls[kind].values()) / n, 1)
        row["wrapper_us_per_call"] = wrapper_cost_us()
        out[kind] = row
    return out


def print_phases(phases: dict[str, dict[str, float]]) -> None:
    """One row per ABCI call kind, one column per phase (CPU us per tx)."""
    cols = (*PHASES, "total", "wrapped_calls_per_tx", "wrapper_us_per_call")
    print("in-process CPU per tx by phase (us, thread CPU; exclusive of nested phases; total")
    print("includes the wrappers' own cost, about wrapped x wrapper us per tx):")
    print(f"  {'call':<16}" + "".join(f"{c[:9]:>10}" for c in cols))
    for kind, row in phases.items():
        print(f"  {kind:<16}" + "".join(f"{row[c]:>10.1f}" for c in cols))


def _finalize_and_commit(chain: TestChain, txs: list[bytes]) -> None:
    chain.height += 1
    response = chain.app.finalize_block(_finalize_request(chain.height, txs))
    chain.app.commit(abci.RequestCommit())
    assert all(r.code == 0 for r in response.tx_results), response.tx_results[0].log


# -- 2. networks ----------------------------------------------------------------------------------


@dataclass
class NetResult:
    validators: int
    txs: int  # submitted and admitted by CheckTx
    rejected: int  # refused by CheckTx (should be 0)
    failed: int  # included with a non-zero code (should be 0)
    seconds: float  # first submit -> block with the last tx observed
    committed_tps: float  # txs / seconds
    block_time_tps: float  # txs / (header time of the last tx block - of the block before)
    blocks: int  # blocks holding the txs
    mean_block_txs: float
    max_block_txs: int  # the largest block (the per-block cap shows here; docs/throughput.md)
    mean_block_interval_s: float
    submit_tps: float  # rate the client achieved (bounded by the window)
    app_cpu_us_per_tx: float = 0.0  # CPU of all nodes' Python app processes, per tx
    cometbft_cpu_us_per_tx: float = 0.0  # CPU of all nodes' CometBFT processes, per tx
    block_sizes: list[int] = field(default_factory=list)  # user txs of each block, in order
    notes: list[str] = field(default_factory=list)


class BlockWatcher(threading.Thread):
    """Polls one node's ``/blockchain`` and records (height, num_txs, header time, wall time)."""

    def __init__(self, rpc_url: str, start_height: int, vote_extensions_height: int) -> None:
        super().__init__(daemon=True)
        self.rpc = CometRPC(rpc_url)
        self.vote_extensions_height = vote_extensions_height
        self.next_height = start_height + 1
        self.blocks: list[tuple[int, int, str, float]] = []
        self.committed = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                top = self.rpc.height()
                while self.next_height <= top:
                    high = min(top, self.next_height + 19)
                    metas = self.rpc.call(
                        "blockchain", minHeight=str(self.next_height), maxHeight=str(high)
                    )["block_metas"]
                    now = time.monotonic()
                    for meta in sorted(metas, key=lambda m: int(m["header"]["height"])):
                        h = int(meta["header"]["height"])
                        # Not a user tx: the extended commit the proposer puts first in a block.
                        injected = is_injection_height(h, self.vote_extensions_height)
                        txs = int(meta["num_txs"]) - int(injected)
                        self.blocks.append((h, txs, meta["header"]["time"], now))
                        self.committed += txs
                    self.next_height = high + 1
            except Exception:  # a transient RPC error: poll again
                pass
            time.sleep(0.05)


def _submit(
    rpc_url: str,
    queues: list[list[bytes]],
    watcher: BlockWatcher,
    counters: dict[str, int],
    window: int,
    batch: int,
    lock: threading.Lock,
) -> None:
    """Send round-robin over this thread's senders (sequence order kept per sender).

    ``window`` bounds the uncommitted txs of all threads together: a thread reserves its batch
    under the lock before sending (each thread testing ``admitted - committed > window / threads``
    and then adding its batch let ``window / threads + threads x batch`` through: with the
    defaults exactly 1,200 on one node, which capped every block at 1,200 txs).
    """
    rpc = CometRPC(rpc_url, timeout=60)
    flat = [q[i] for i in range(max(len(q) for q in queues)) for q in queues if i < len(q)]
    for low in range(0, len(flat), batch):
        chunk = flat[low : low + batch]
        while True:
            with lock:
                if counters["sent"] + len(chunk) - watcher.committed <= window:
                    counters["sent"] += len(chunk)
                    break
            time.sleep(0.01)
        calls = [(METHOD[0], {"tx": base64.b64encode(t).decode()}) for t in chunk]
        results = rpc.batch(calls)
        ok = sum(
            1 for r in results if not isinstance(r, Exception) and int(r.get("code") or 0) == 0
        )
        with lock:
            counters["admitted"] += ok
            counters["rejected"] += len(chunk) - ok
            counters["sent"] -= len(chunk) - ok  # refused: never to be committed
            if ok < len(chunk) and "first_error" not in counters:
                bad = next(
                    r for r in results if isinstance(r, Exception) or int(r.get("code") or 0)
                )
                counters["first_error"] = str(bad if isinstance(bad, Exception) else bad["log"])  # type: ignore[assignment]


def measure_network(validators: int, accounts: int, total: int, window: int) -> NetResult:
    with tempfile.TemporaryDirectory() as tmp:
        net = LocalNetwork.testnet(pathlib.Path(tmp), validators, dev_accounts=accounts)
        try:
            net.start()
            return _drive(net, total, window)
        finally:
            net.close()


def _drive(net: LocalNetwork, total: int, window: int) -> NetResult:
    rng = random.Random(1)
    factory = TxFactory(net.nodes[0].rpc, net.chain_id, net.accounts)
    per_sender = max(1, total // len(net.accounts))
    queues = {
        a.address: [
            factory.send(a, rng.choice(net.accounts).address, rng.randint(1, 1000))
            for _ in range(per_sender)
        ]
        for a in net.accounts
    }
    # Two submitting threads per node, each owning a disjoint set of senders.
    threads_total = 2 * len(net.nodes)
    groups: list[list[list[bytes]]] = [[] for _ in range(threads_total)]
    for i, account in enumerate(net.accounts):
        groups[i % threads_total].append(queues[account.address])
    start_height = net.nodes[0].height()
    genesis = json.loads((net.nodes[0].home / "config" / "genesis.json").read_text())
    enable = int(genesis["consensus_params"]["abci"]["vote_extensions_enable_height"])
    watcher = BlockWatcher(net.nodes[0].rpc_url, start_height, enable)
    watcher.start()
    counters = {"admitted": 0, "rejected": 0, "sent": 0}
    lock = threading.Lock()
    cpu_before = _cpu_seconds(net)
    t0 = time.monotonic()
    workers = [
        threading.Thread(
            target=_submit,
            args=(
                net.nodes[i % len(net.nodes)].rpc_url,
                groups[i],
                watcher,
                counters,
                window,
                100,
                lock,
            ),
        )  # fmt: skip
        for i in range(threads_total)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    submitted_at = time.monotonic()
    _wait_drained(net, watcher, counters["admitted"])
    watcher.stop.set()
    watcher.join()
    counters["rejected"] += max(0, counters["admitted"] - watcher.committed)  # async: never came
    cpu_after = _cpu_seconds(net)
    result = _summarize(net, watcher, counters, t0, submitted_at)
    if result.txs:
        result.app_cpu_us_per_tx = round((cpu_after[0] - cpu_before[0]) / result.txs * 1e6)
        result.cometbft_cpu_us_per_tx = round((cpu_after[1] - cpu_before[1]) / result.txs * 1e6)
    return result


def _cpu_seconds(net: LocalNetwork) -> tuple[float, float]:
    """(app, CometBFT) CPU seconds used so far by every node: /proc/<pid>/stat utime + stime."""
    import os

    tick = os.sysconf("SC_CLK_TCK")
    app = comet = 0.0
    parents = {n.process.pid for n in net.nodes if n.process is not None}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid, cpu = int(entry.name), int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        if pid in parents:
            app += cpu
        elif ppid in parents:
            comet += cpu
    return app, comet


def _wait_drained(
    net: LocalNetwork, watcher: BlockWatcher, admitted: int, limit: float = 120
) -> None:
    """Until every admitted tx is committed, or the mempools are empty (rejected async txs)."""
    deadline = time.monotonic() + limit
    rpc = net.nodes[0].rpc
    while watcher.committed < admitted and time.monotonic() < deadline:
        if int(rpc.call("num_unconfirmed_txs")["total"]) == 0:
            seen = watcher.committed
            time.sleep(1.0)  # the last block may still be on its way to the watcher
            if watcher.committed == seen:
                return
        time.sleep(0.05)


def _summarize(
    net: LocalNetwork, watcher: BlockWatcher, counters: dict, t0: float, submitted_at: float
) -> NetResult:
    tx_blocks = [b for b in watcher.blocks if b[1] > 0]
    first, last = watcher.blocks.index(tx_blocks[0]), watcher.blocks.index(tx_blocks[-1])
    before = watcher.blocks[first - 1] if first > 0 else tx_blocks[0]
    span_header = _ts(tx_blocks[-1][2]) - _ts(before[2])
    txs = sum(b[1] for b in tx_blocks)
    seconds = tx_blocks[-1][3] - t0
    intervals = [
        _ts(watcher.blocks[i][2]) - _ts(watcher.blocks[i - 1][2])
        for i in range(first + 1, last + 1)
    ]
    failed = _count_failed(
        net.nodes[0].rpc, [b[0] for b in tx_blocks], watcher.vote_extensions_height
    )
    notes = [f"first CheckTx error: {counters['first_error']}"] if "first_error" in counters else []
    return NetResult(
        validators=len(net.nodes),
        txs=txs,
        rejected=counters["rejected"],
        failed=failed,
        seconds=round(seconds, 2),
        committed_tps=round(txs / seconds, 1),
        block_time_tps=round(txs / span_header, 1) if span_header > 0 else 0.0,
        blocks=len(tx_blocks),
        mean_block_txs=round(txs / len(tx_blocks), 1),
        max_block_txs=max(b[1] for b in tx_blocks),
        mean_block_interval_s=round(sum(intervals) / len(intervals), 3) if intervals else 0.0,
        submit_tps=round(counters["admitted"] / (submitted_at - t0), 1),
        block_sizes=[b[1] for b in tx_blocks],
        notes=notes,
    )


def _ts(text: str) -> float:
    """RFC 3339 with nanoseconds -> seconds (float is fine for a benchmark)."""
    import datetime as dt

    head, _, frac = text.rstrip("Z").partition(".")
    base = dt.datetime.fromisoformat(head).replace(tzinfo=dt.UTC).timestamp()
    return base + (float("0." + frac) if frac else 0.0)


def _count_failed(rpc: CometRPC, heights: list[int], vote_extensions_height: int) -> int:
    failed = 0
    for h in heights:
        for attempt in range(50):  # results are saved just after the block itself
            try:
                results = rpc.call("block_results", height=str(h)).get("txs_results") or []
                break
            except Exception:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        if is_injection_height(h, vote_extensions_height):
            results = results[1:]
        failed += sum(1 for r in results if int(r.get("code") or 0) != 0)
    return failed


# -- main -----------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer txs and blocks")
    parser.add_argument("--txs", type=int, default=0, help="txs per network (default 20000)")
    parser.add_argument("--accounts", type=int, default=200, help="sending accounts")
    parser.add_argument("--window", type=int, default=2000, help="most uncommitted txs in flight")
    parser.add_argument("--block-txs", type=int, default=1000, help="txs per in-process block")
    parser.add_argument("--validators", default="1,4", help="network sizes, e.g. 1,4")
    parser.add_argument("--profile", action="store_true", help="print the in-process profile")
    parser.add_argument("--sync", action="store_true", help="broadcast_tx_sync, not _async")
    parser.add_argument(
        "--send-gas",
        type=int,
        default=SEND_GAS,
        help="gas limit of each network send (fee = gas x 0.025); a block holds at most "
        "block.max_gas / this many sends",
    )
    parser.add_argument("--skip-app", action="store_true", help="skip the in-process part")
    args = parser.parse_args(argv)
    import tests.integration.conftest as network_txs

    # TxFactory reads these module constants for every send it signs.
    network_txs.SEND_GAS, network_txs.SEND_FEE = args.send_gas, -(-args.send_gas * 25 // 1000)
    if args.sync:
        METHOD[0] = "broadcast_tx_sync"
    total = args.txs or (3000 if args.quick else 20000)
    accounts = min(args.accounts, 100) if args.quick else args.accounts

    cost, phases = None, None
    if not args.skip_app:
        cost, profile = measure_app(args.block_txs, 2 if args.quick else 5, args.profile)
        print("in-process app cost per tx (no CometBFT):")
        print(f"  CheckTx {cost.check_tx_us:.0f} us | recheck {cost.recheck_tx_us:.0f} us | "
              f"FinalizeBlock {cost.finalize_us:.0f} us | Commit {cost.commit_ms:.1f} ms/block | "
              f"one node's app work {cost.app_us_per_tx:.0f} us/tx "
              f"(ceiling {1e6 / cost.app_us_per_tx:.0f} tx/s on one core)")  # fmt: skip
        if profile:
            print(profile)
        phases = measure_phases(args.block_txs, 2 if args.quick else 5)
        print_phases(phases)
    rows = []
    for n in (int(v) for v in args.validators.split(",") if v):
        print(
            f"running {n}-validator network: {total} txs from {accounts} accounts ...", flush=True
        )
        rows.append(measure_network(n, accounts, total, args.window))
    print()
    print(f"{'validators':>10} {'txs':>7} {'committed tx/s':>15} {'block-time tx/s':>16} "
          f"{'blocks':>7} {'txs/block':>10} {'max':>5} {'block s':>8} {'rejected':>9} {'failed':>7} "
          f"{'app CPU us/tx':>14} {'comet CPU us/tx':>16}")  # fmt: skip
    for r in rows:
        print(f"{r.validators:>10} {r.txs:>7} {r.committed_tps:>15.1f} {r.block_time_tps:>16.1f} "
              f"{r.blocks:>7} {r.mean_block_txs:>10.1f} {r.max_block_txs:>5} "
              f"{r.mean_block_interval_s:>8.3f} "
              f"{r.rejected:>9} {r.failed:>7} {r.app_cpu_us_per_tx:>14.0f} "
              f"{r.cometbft_cpu_us_per_tx:>16.0f}")  # fmt: skip
        for note in r.notes:
            print(f"{'':>10} note: {note}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": _cpus(),
                    "python": platform.python_version(),
                    # Other processes share this host: a load far above the CPU count means the
                    # figures are lower bounds.
                    "load_average_1m_at_end": round(_load(), 2),
                },
                "app_cost": asdict(cost) if cost else None,
                "cpu_us_per_tx_by_phase": phases,
                "networks": [asdict(r) for r in rows],
            },
            indent=2,
        )
        + "\n"
    )
    for r in rows:
        print(f"{r.validators} validator(s): CometBFT's share of node CPU "
              f"{r.cometbft_cpu_us_per_tx:.0f} us/tx of "
              f"{r.app_cpu_us_per_tx + r.cometbft_cpu_us_per_tx:.0f} us/tx "
              f"(all nodes; process CPU from /proc)")  # fmt: skip
    print(f"\nload average (1 min) at the end: {_load():.1f} on {_cpus()} CPUs")
    print(f"wrote {RESULTS}")
    return 0


def _load() -> float:
    import os

    return os.getloadavg()[0]


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
