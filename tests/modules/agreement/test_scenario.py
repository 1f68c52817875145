"""A whole story through ABCI, every number computed by hand.

Setup (tests/modules/jobs.py): model "m", 8 layers, price 10 uinfera/token; six workers with
10_000 staked each, serving [0,4) or [4,8); every tx pays FEE. Prompt "hello world!" = 12 bytes
= 3 priced tokens; the honest output is 4 tokens; max fee 1000; r = 3.

Job 1 (user7): all six hops commit (h5) and reveal (h6).
  charge 10 x (3 + 4) x 3 = 210; protocol floor(210 x 0.05) = 10; pool 200; each hop serves 4 of
  24 winning layers: floor(200 x 4 / 24) = 33, six hops 198, dust 2: protocol 12. Refund 790.
  Reputation of all six: 1_000_000 x 1.05 = 1_050_000.
Job 2 (user8, h7): routes 0 and 1 honest; route 2's first hop honest, its last hop W never
  commits. Commits h8, reveals open after h10, reveals h11 (tallied at once).
  charge 10 x 7 x 2 = 140; protocol 7; pool 133; floor(133 x 4 / 16) = 33 x 4 = 132, dust 1:
  protocol 8. Refund 860. Winners' reputation 1_050_000 x 1.05 = 1_102_500; route 2's first hop
  keeps 1_050_000; W: 1_050_000 x 0.8 = 840_000 and a slash of floor(10_000 x 0.001) = 10.
"""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from infera.agreement.v1 import types_pb2 as agreement_types
from infera.inference.v1 import types_pb2
from tests.harness import INITIAL_BALANCE
from tests.modules.jobs import (
    advance_to,
    commit_msg,
    escrow_balance,
    history,
    hops,
    job,
    ok,
    reveal_msg,
    submit_msg,
    worker_keys,
)
from tests.modules.serving import FEE, STAKE, keeper, latest_ctx


def test_two_jobs_end_with_hand_computed_balances_stakes_and_reputations(node):
    alice, bob = node.keys[7], node.keys[8]
    supply = node.supply()
    collector_before = _collected(node)  # 7 setup txs

    # job 1: everyone honest
    ok(node, (alice, submit_msg(alice)))
    everyone = [w for route in hops(node, 1) for w in route]
    ok(node, *[(w, commit_msg(w, 1)) for w in everyone])
    assert job(node, 1).state == types_pb2.JOB_STATE_REVEALING
    ok(node, *[(w, reveal_msg(w, 1)) for w in everyone])
    assert (job(node, 1).state, job(node, 1).final_height) == (types_pb2.JOB_STATE_FINALIZED, 6)

    # job 2: route 2's last hop stays silent
    ok(node, (bob, submit_msg(bob)))
    routes = hops(node, 2)
    silent, lonely = routes[2][1], routes[2][0]
    working = routes[0] + routes[1] + [lonely]
    ok(node, *[(w, commit_msg(w, 2)) for w in working])
    advance_to(node, 10)
    ok(node, *[(w, reveal_msg(w, 2)) for w in working])
    assert (job(node, 2).state, job(node, 2).final_height) == (types_pb2.JOB_STATE_FINALIZED, 11)

    # balances
    for w in worker_keys(node):
        txs = 3 if w == silent else 5  # register, commit 1, reveal 1 (+ commit 2, reveal 2)
        paid = 33 if w in (silent, lonely) else 66
        assert node.balance(w.address) == INITIAL_BALANCE - STAKE - txs * FEE + paid, w.name
    assert node.balance(alice.address) == INITIAL_BALANCE - FEE - 210
    assert node.balance(bob.address) == INITIAL_BALANCE - FEE - 140
    assert escrow_balance(node) == 0
    job_txs = (1 + 6 + 6) + (1 + 5 + 5)
    collector = _collected(node)
    assert collector == collector_before + job_txs * FEE + 12 + 8

    # stakes, burn and supply
    ctx = latest_ctx(node)
    workers = keeper(node, "workers")
    for w in worker_keys(node):
        assert workers.get_stake(ctx, w.address) == (STAKE - 10 if w == silent else STAKE)
    assert node.balance(crypto.module_address("workers_bonded")) == 6 * STAKE - 10
    assert workers.get_burned(ctx) == 10
    assert node.supply() == supply - 10

    # reputations
    expected = {w: 1_102_500 for w in routes[0] + routes[1]}
    expected |= {lonely: 1_050_000, silent: 840_000}
    assert {w: workers.get_reputation(ctx, w.address) for w in expected} == expected

    # the audit trail of job 2
    trail = history(node, 2)
    assert len(trail.commitments) == len(trail.reveals) == 5
    assert [c.status for c in trail.settlement.claims] == [
        agreement_types.ROUTE_STATUS_COMPLETE,
        agreement_types.ROUTE_STATUS_COMPLETE,
        agreement_types.ROUTE_STATUS_INCOMPLETE,
    ]
    assert [(p.worker, p.slashed, p.reason) for p in trail.settlement.penalties] == [
        (silent.bech32, "10", "no_commit")
    ]
    amounts = [(p.recipient, p.amount) for p in trail.settlement.payouts]
    assert amounts == [(w.bech32, "33") for w in routes[0] + routes[1]] + [
        (crypto.to_bech32(crypto.module_address("fee_collector")), "8")
    ]
    assert (trail.job.refunded, trail.settlement.charge) == ("860", "140")


def _collected(node) -> int:
    """The fee collector plus what distribution already took from it (modules/distribution
    moves the collector's balance on at the start of each block)."""
    return sum(node.balance(crypto.module_address(m)) for m in ("fee_collector", "distribution"))
