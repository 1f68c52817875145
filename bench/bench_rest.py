"""Benchmark: what the REST (LCD) server adds to a query over calling the node's gRPC directly
(docs/rest.md).

A one-validator TestChain with its real gRPC server (``chain.grpc``, as ``infera start`` serves
it, on a thread of its own in this process) and the real ``infera rest`` command in a subprocess
pointed at it. One sequential client alternates, request by request, a direct gRPC call (a
``grpc`` channel, raw bytes) and the same query through REST (``httpx``, keep-alive), so a change
in the shared machine's load hits both alike; the first ``--warmup`` of each are dropped. Every
answer is checked. Queries: bank ``Balance`` (``/cosmos/bank/v1beta1/balances/{a}/by_denom``) and
``infera.inference.v1.Query/Params`` (``/infera/inference/v1/params``).

Reported per query and path: median/p99 ms; ``added`` is REST's percentile minus gRPC's (a
difference of percentiles). Not measured: concurrency, TLS, blocks and txs (they go to CometBFT).

    python bench/bench_rest.py              # 1000 requests per path and query, 100 warm-up
    python bench/bench_rest.py --quick      # 200, 30 warm-up

Writes bench/results/rest.json (``--quick``: rest_quick.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, warmup = (200, 30) if args.quick else (1000, 100)

    import chain.pb  # noqa: F401

    import grpc
    import httpx

    from chain.grpc import start_grpc_server
    from chain.testnet import node_env
    from cosmos.bank.v1beta1 import query_pb2 as bank_query
    from infera.inference.v1 import query_pb2 as inference_query
    from tests.chain.rest.helpers import free_port
    from tests.harness import DENOM, INITIAL_BALANCE, TestChain

    chain_ = TestChain(pathlib.Path(tempfile.mkdtemp()) / "chain")
    chain_.init()
    chain_.block()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    server = asyncio.run_coroutine_threadsafe(
        start_grpc_server(chain_.app, "127.0.0.1:0", "http://127.0.0.1:1"), loop
    ).result(timeout=30)
    address = f"127.0.0.1:{server.port}"
    port = free_port()
    rest = subprocess.Popen(
        [sys.executable, "-m", "chain.cli.main", "rest", "--grpc", address,
         "--listen", f"127.0.0.1:{port}", "--no-explorer"],
        env=node_env(), start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    account = chain_.keys[0].bech32
    queries: list[tuple[str, str, bytes, Any, str, Any]] = [
        ("bank Balance", "/cosmos.bank.v1beta1.Query/Balance",
         bank_query.QueryBalanceRequest(address=account, denom=DENOM).SerializeToString(),
         lambda raw: bank_query.QueryBalanceResponse.FromString(raw).balance.amount == str(INITIAL_BALANCE),
         f"/cosmos/bank/v1beta1/balances/{account}/by_denom?denom={DENOM}",
         lambda body: body["balance"]["amount"] == str(INITIAL_BALANCE)),
        ("inference Params", "/infera.inference.v1.Query/Params",
         inference_query.QueryParamsRequest().SerializeToString(),
         lambda raw: inference_query.QueryParamsResponse.FromString(raw).params.fee_denom == DENOM,
         "/infera/inference/v1/params", lambda body: body["params"]["fee_denom"] == DENOM),
    ]  # fmt: skip
    rows = []
    try:
        channel = grpc.insecure_channel(address)
        with httpx.Client(base_url=url, timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    http.get("/infera/inference/v1/params")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "infera rest never listened"
                    time.sleep(0.2)
            for name, path, request, check_grpc, rest_path, check_rest in queries:
                call = channel.unary_unary(path)
                direct, via_rest = [], []
                for i in range(n + warmup):
                    start = time.perf_counter()
                    assert check_grpc(call(request, timeout=10))
                    middle = time.perf_counter()
                    assert check_rest(http.get(rest_path).json())
                    end = time.perf_counter()
                    if i >= warmup:
                        direct.append((middle - start) * 1000)
                        via_rest.append((end - middle) * 1000)
                row = {"query": name, "n": n}
                for label, values in (("grpc", direct), ("rest", via_rest)):
                    row[f"{label}_median_ms"] = round(statistics.median(values), 3)
                    row[f"{label}_p99_ms"] = round(percentile(values, 0.99), 3)
                row["added_median_ms"] = round(row["rest_median_ms"] - row["grpc_median_ms"], 3)
                row["added_p99_ms"] = round(row["rest_p99_ms"] - row["grpc_p99_ms"], 3)
                rows.append(row)
        channel.close()
    finally:
        os.killpg(rest.pid, signal.SIGTERM)
        rest.wait(timeout=20)
        asyncio.run_coroutine_threadsafe(server.stop(0), loop).result(timeout=30)
        chain_.store.close()
    print(
        f"{'query':18} {'gRPC med':>9} {'gRPC p99':>9} {'REST med':>9} {'REST p99':>9} {'added med':>10} {'added p99':>10}"
    )
    for r in rows:
        print(f"{r['query']:18} {r['grpc_median_ms']:9.3f} {r['grpc_p99_ms']:9.3f} {r['rest_median_ms']:9.3f} "
              f"{r['rest_p99_ms']:9.3f} {r['added_median_ms']:10.3f} {r['added_p99_ms']:10.3f}")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("rest_quick.json" if args.quick else "rest.json")
    load = os.getloadavg()
    out.write_text(json.dumps({"rows": rows, "machine": platform.machine(), "cpus": os.cpu_count(),
                               "loadavg_before_end": load}, indent=2))  # fmt: skip
    print(f"wrote {out} (load average {load[0]:.2f})")


if __name__ == "__main__":
    main()
