"""Per-block cost of the fee allocation (modules/distribution) and the liveness window
(modules/slashing) with 4 and 100 validators signing: each hook on a branch of a committed
TestChain store with one tx fee in the collector, 50 runs, mean milliseconds.

    .infera/bin/python bench/bench_distribution_hooks.py
"""

import pathlib
import tempfile
import time

from chain import crypto
from chain.context import BlockInfo, CommitVote, Context, ExecMode
from chain.store import CacheStore
from modules.distribution import abci as dabci
from modules.slashing import abci as sabci
from tests.harness import Key, TestChain, send_msg, validator_pubkey

for n in (4, 100):
    tmp = pathlib.Path(tempfile.mkdtemp())
    c = TestChain(tmp, validators=[Key(f"val{i}") for i in range(n)])
    c.init()
    c.block()
    u = c.keys[0]
    c.block([c.tx(u, send_msg(u, c.keys[1].address, 1))])
    dist = next(m for m in c.app.modules if m.name == "distribution").keeper
    slash = next(m for m in c.app.modules if m.name == "slashing").keeper
    votes = tuple(
        CommitVote(crypto.consensus_address(validator_pubkey(v.name)), 1000, True)
        for v in c.validators
    )
    runs = 50
    td = ts = 0.0
    for _ in range(runs):
        ctx = Context(
            store=CacheStore(c.store.latest()),
            block=BlockInfo("infera-test-1", c.height + 1, 0, last_commit=votes),
            mode=ExecMode.FINALIZE,
        )
        t0 = time.perf_counter()
        dabci.allocate_fees(ctx, dist)
        t1 = time.perf_counter()
        sabci.process_liveness(ctx, slash)
        t2 = time.perf_counter()
        td += t1 - t0
        ts += t2 - t1
    print(
        f"validators={n}: allocate_fees {td / runs * 1e3:.2f} ms, liveness {ts / runs * 1e3:.2f} ms per block"
    )
    c.store.close()
