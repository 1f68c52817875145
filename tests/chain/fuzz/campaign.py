"""``make fuzz``: a long fuzzing campaign over the ABCI entry points of tests/chain/fuzz.

    FUZZ_EXAMPLES=100000 FUZZ_TARGETS=check_tx,query .infera/bin/python -m tests.chain.fuzz.campaign

FUZZ_EXAMPLES is the number of inputs per entry point (default 100000); FUZZ_TARGETS picks
entry points (default: all of check_tx, simulate, proposal, query, vote_extension, socket).
Unlike the default suite, a crash does not stop the campaign: each is counted and the first
few are printed. The exit status is 1 when any entry point crashed.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import chain.pb  # noqa: F401

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chain.log import setup_logging
from tests.chain.fuzz import strategies as fz
from tests.chain.fuzz.targets import Crash, Node, make_node
from tests.chain.fuzz.test_fuzz_abci import _exchange, socket_requests

TARGETS = ("check_tx", "simulate", "proposal", "query", "vote_extension", "socket")


def _plans(node: Node) -> dict[str, tuple[st.SearchStrategy, Callable[[Any], int]]]:
    """Entry point -> (strategy, run one drawn value and return the inputs it sent)."""
    txs = fz.hostile_txs(
        router=node.app.router,
        signers=node.chain.keys,
        account_numbers=node.account_numbers(),
        sequences=node.seqs,
    )
    extra = [k.bech32 for k in node.chain.keys]

    def socket(batch: list) -> int:
        responses = asyncio.run(_exchange(node.app, batch))
        kinds = [r.WhichOneof("value") for r in responses]
        if kinds != [b.WhichOneof("value") for b in batch] + ["flush"]:
            raise Crash(f"socket answers {kinds}")
        return len(batch)

    return {
        "check_tx": (st.tuples(txs, st.booleans()), lambda a: node.check_tx(*a) or 1),
        "simulate": (txs, lambda raw: node.simulate(raw) or 1),
        "proposal": (fz.tx_lists(txs), lambda txs_: node.proposal(txs_) or 1),
        "query": (fz.queries(node.app.router, extra), lambda q: node.query(*q) or 1),
        "vote_extension": (
            st.tuples(st.integers(0, 2**63 - 1), st.binary(max_size=300), st.binary(max_size=32)),
            lambda a: node.vote_extension(*a) or 1,
        ),
        "socket": (st.lists(socket_requests(node), min_size=1, max_size=12), socket),
    }


class _Enough(Exception):
    """Raised inside a run once the target has had its inputs."""


def run_target(name: str, strategy: st.SearchStrategy, one: Callable, examples: int) -> tuple:
    executed, crashes = [0], []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: Any) -> None:
        if executed[0] >= examples:
            raise _Enough()  # a batch target (socket) sends several inputs per example
        try:
            executed[0] += one(value)
        except Crash as crash:
            executed[0] += 1
            crashes.append(str(crash)[:400])

    started = time.monotonic()
    while executed[0] < examples:  # hypothesis may end a run early; go on until the count
        before = executed[0]
        try:
            run()
        except _Enough:
            break
        if executed[0] == before:
            break
    return executed[0], crashes, time.monotonic() - started


def main() -> int:
    examples = int(os.environ.get("FUZZ_EXAMPLES", "100000"))
    chosen = [t for t in os.environ.get("FUZZ_TARGETS", ",".join(TARGETS)).split(",") if t]
    setup_logging("critical")  # the barrier logs every refusal; the counts are the output
    with tempfile.TemporaryDirectory() as tmp:
        node = Node(make_node(pathlib.Path(tmp) / "fuzz"))
        plans = _plans(node)
        print(f"{'entry point':16} {'inputs':>9} {'crashes':>8} {'seconds':>8} {'inputs/s':>9}")
        total = 0
        for name in chosen:
            strategy, one = plans[name]
            executed, crashes, seconds = run_target(name, strategy, one, examples)
            total += len(crashes)
            rate = executed / seconds if seconds else 0
            print(f"{name:16} {executed:>9} {len(crashes):>8} {seconds:>8.0f} {rate:>9.0f}")
            for crash in crashes[:5]:
                print(f"    crash: {crash}")
            sys.stdout.flush()
        print(f"blocks executed: {node.accepted_blocks}; crashes in all: {total}")
        node.chain.store.close()
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
