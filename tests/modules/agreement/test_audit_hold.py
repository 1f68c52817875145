"""An audited job's payment is held until the verdict: a passing verdict pays exactly what
finalization would have paid, a failing one refunds the submitter (and slashes the colluders),
an audit whose verdict windows all end undecided is refunded and pays nobody (undecided never
means paid); nothing is ever paid twice.

Every job here: price 10, prompt 12 bytes (3 tokens), r = 3, max fee 1000, and all three routes
reveal the same 3-token output. Charge = 10 x (3 + 3) x 3 = 180; protocol floor(180 x 0.05) = 9,
pool 171; each of the 6 hops serves 4 of 24 winning layers: floor(171 x 4 / 24) = 28; dust
171 - 168 = 3 goes to the protocol: fee collector 12. Refund at finalization: 1000 - 180 = 820.
"""

from __future__ import annotations

import json

import chain.pb  # noqa: F401

import pytest

from chain import crypto
from chain.ante import FEE_COLLECTOR
from chain.store import prefix_end
from infera.agreement.v1 import types_pb2 as R
from infera.inference.v1 import types_pb2 as J
from modules.agreement import audits, invariants, logic
from tests.harness import INITIAL_BALANCE
from tests.modules.jobs import (
    advance_to,
    commit_msg,
    escrow_balance,
    history,
    hops,
    job,
    make_job_chain,
    ok,
    reveal_msg,
    submit_msg,
)
from tests.modules.serving import FEE, GAS, STAKE, keeper, latest_ctx

AGREED = [9, 9, 9]  # what the three routes reveal (right or wrong: the verdict decides)
H_AGREED = logic.compute_output_hash(AGREED, b"")
H_TRUE = logic.compute_output_hash([101, 102, 103, 104], b"")
CHARGE, HOP_PAY, PROTOCOL, REFUND = 180, 28, 12, 820
WINDOW = 4  # audit window (blocks)


def _collector(node) -> int:
    """What the protocol collected: the fee collector, plus what distribution already took
    from it (modules/distribution moves its balance on at the start of each block)."""
    collected = node.balance(crypto.module_address(FEE_COLLECTOR))
    return collected + node.balance(crypto.module_address("distribution"))


def _hold(node) -> int:
    return node.balance(audits.hold_address())


def _stake(node, key) -> int:
    return keeper(node, "workers").get_stake(latest_ctx(node), key.address)


def _audit(node, job_id: int = 1) -> R.Audit:
    return keeper(node, "agreement").get_audit(latest_ctx(node), job_id)


def _verdict_block(node, job_id: int, passing, culprits=()) -> None:
    """The single validator's verdict rides in the next block's extended commit."""
    verdict = R.Verdict(
        job_id=job_id,
        passing_output_hashes=sorted(passing),
        culprits=[R.Culprit(route_index=r, hop_index=h) for r, h in sorted(culprits)],
    )
    extension = R.VoteExtension(verdicts=[verdict]).SerializeToString(deterministic=True)
    node.block(extensions={node.validators[0].name: extension})


def _play_agreeing_job(node) -> None:
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    workers = [w for route in hops(node, 1) for w in route]
    ok(node, *[(w, commit_msg(w, 1, tokens=AGREED)) for w in workers])
    ok(node, *[(w, reveal_msg(w, 1, tokens=AGREED)) for w in workers])


@pytest.fixture
def audited(tmp_path):
    node = make_job_chain(
        tmp_path / "a",
        vote_extensions_from=1,
        agreement={"audit_probability": "1", "audit_window_blocks": WINDOW},
    )
    _play_agreeing_job(node)
    assert job(node, 1).state == J.JOB_STATE_FINALIZED
    node.workers_before = {w.bech32: node.balance(w.address) for r in hops(node, 1) for w in r}
    node.collector_before = _collector(node)
    yield node
    node.store.close()


def _worker_gains(node) -> list[int]:
    return [
        node.balance(w.address) - node.workers_before[w.bech32] for r in hops(node, 1) for w in r
    ]


def _assert_paid_once(node) -> None:
    assert _worker_gains(node) == [HOP_PAY] * 6
    assert _collector(node) - node.collector_before == PROTOCOL
    assert _hold(node) == 0
    done = history(node, 1)
    assert [p.amount for p in done.settlement.payouts] == [str(HOP_PAY)] * 6 + [str(PROTOCOL)]
    assert done.settlement.charge == str(CHARGE)
    assert done.audit.hold_status == R.HOLD_STATUS_PAID


def test_an_audited_job_holds_its_whole_charge_instead_of_paying(audited):
    done = history(audited, 1)
    assert done.audit.hold_status == R.HOLD_STATUS_HELD
    assert done.audit.held_amount == str(CHARGE)
    assert [p.amount for p in done.audit.payouts] == [str(HOP_PAY)] * 6 + [str(PROTOCOL)]
    assert list(done.settlement.payouts) == []  # nothing paid yet
    assert (done.settlement.charge, done.settlement.protocol_amount) == (str(CHARGE), str(PROTOCOL))
    assert (done.job.refunded, done.job.escrow) == (str(REFUND), "0")
    assert _hold(audited) == CHARGE and escrow_balance(audited) == 0
    assert audited.balance(audited.keys[7].address) == INITIAL_BALANCE - FEE - CHARGE
    assert invariants.check_audit_hold(latest_ctx(audited), keeper(audited, "agreement")) == ""


def test_a_passing_verdict_pays_exactly_what_finalization_would_have(audited):
    _verdict_block(audited, 1, [H_AGREED])
    _assert_paid_once(audited)
    assert _audit(audited).decided and not _audit(audited).failed
    assert audited.balance(audited.keys[7].address) == INITIAL_BALANCE - FEE - CHARGE


def test_a_failing_verdict_refunds_the_submitter_and_slashes_the_colluders(audited):
    routes = hops(audited, 1)
    _verdict_block(audited, 1, [H_TRUE], [(0, 1), (1, 1), (2, 1)])
    done = history(audited, 1)
    assert done.audit.decided and done.audit.failed
    assert done.audit.hold_status == R.HOLD_STATUS_REFUNDED
    assert audited.balance(audited.keys[7].address) == INITIAL_BALANCE - FEE  # paid nothing
    assert (done.job.refunded, done.settlement.charge, done.settlement.protocol_amount) == (
        "1000",
        "0",
        "0",
    )
    assert done.job.state == J.JOB_STATE_FINALIZED and done.job.reason == audits.REFUND_REASON
    assert list(done.settlement.payouts) == []
    assert _worker_gains(audited) == [0] * 6 and _collector(audited) == audited.collector_before
    assert _hold(audited) == 0
    assert [_stake(audited, routes[r][1]) for r in range(3)] == [STAKE - STAKE // 5] * 3
    assert [_stake(audited, routes[r][0]) for r in range(3)] == [STAKE] * 3


def _outlast_every_window(node) -> int:
    """Let every verdict window pass with validators abstaining; returns the last one's end."""
    windows = keeper(node, "agreement").get_params(latest_ctx(node)).verdict_max_windows
    for _ in range(windows):
        end = _audit(node).deadline_height
        advance_to(node, end)
    return end


def test_an_undecided_audit_is_extended_then_refunded_and_pays_nobody(audited):
    first_end = _audit(audited).deadline_height
    advance_to(audited, first_end)  # validators abstain: empty extensions
    assert _audit(audited).hold_status == R.HOLD_STATUS_HELD  # extended, still held
    assert _audit(audited).deadline_height == first_end + WINDOW
    last_end = _outlast_every_window(audited)
    done = history(audited, 1)
    assert done.audit.hold_status == R.HOLD_STATUS_REFUNDED and not done.audit.decided
    assert done.audit.released_height == last_end
    assert _worker_gains(audited) == [0] * 6 and _hold(audited) == 0
    assert audited.balance(audited.keys[7].address) == INITIAL_BALANCE - FEE  # paid nothing
    assert (done.job.refunded, done.settlement.charge) == ("1000", "0")


def test_nothing_is_paid_twice(audited):
    _verdict_block(audited, 1, [H_AGREED])
    _verdict_block(audited, 1, [H_AGREED])  # no longer open: ignored
    _verdict_block(audited, 1, [H_TRUE], [(0, 0)])  # a late change of mind: ignored too
    advance_to(audited, _audit(audited).deadline_height + 2)  # the window's end finds it paid
    _assert_paid_once(audited)
    assert all(_stake(audited, w) == STAKE for r in hops(audited, 1) for w in r)


def test_a_verdict_after_the_last_window_changes_nothing(audited):
    _outlast_every_window(audited)
    _verdict_block(audited, 1, [H_AGREED])
    assert _worker_gains(audited) == [0] * 6
    assert _audit(audited).hold_status == R.HOLD_STATUS_REFUNDED
    assert not _audit(audited).decided and _stake(audited, hops(audited, 1)[0][0]) == STAKE


def test_job_history_and_events_show_the_hold(tmp_path):
    node = make_job_chain(
        tmp_path / "e", vote_extensions_from=1, agreement={"audit_probability": "1"}
    )
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    workers = [w for route in hops(node, 1) for w in route]
    ok(node, *[(w, commit_msg(w, 1, tokens=AGREED)) for w in workers])
    txs = [node.tx(w, reveal_msg(w, 1, tokens=AGREED), gas=GAS, fee=FEE) for w in workers]
    events = {e.type: e for e in node.block(txs).events}
    held = {a.key: a.value for a in events["infera.payout_held"].attributes}
    assert held["amount"] == str(CHARGE) and held["job_id"] == "1"
    finalized = {a.key: a.value for a in events["infera.job_finalized"].attributes}
    assert (finalized["charge"], finalized["held"]) == (str(CHARGE), str(CHARGE))
    assert "infera.worker_paid" not in events
    assert history(node, 1).audit.held_amount == str(CHARGE)
    node.store.close()


def test_genesis_round_trip_keeps_the_held_payment(audited):
    ctx = latest_ctx(audited)
    module = next(m for m in audited.app.modules if m.name == "agreement")
    exported = json.loads(json.dumps(module.export_genesis(ctx)))
    assert exported["audits"][0]["hold_status"] == "HOLD_STATUS_HELD"
    before = dict(ctx.store.iterate(b"agreement/", prefix_end(b"agreement/")))
    fresh = latest_ctx(audited)
    for key in before:
        fresh.store.delete(key)
    module.init_genesis(fresh, exported)
    assert dict(fresh.store.iterate(b"agreement/", prefix_end(b"agreement/"))) == before


def test_genesis_rejects_a_hold_the_account_does_not_cover(audited):
    ctx = latest_ctx(audited)
    module = next(m for m in audited.app.modules if m.name == "agreement")
    exported = json.loads(json.dumps(module.export_genesis(ctx)))
    exported["audits"][0]["held_amount"] = str(CHARGE + 1)
    exported["audits"][0]["payouts"][-1]["amount"] = str(PROTOCOL + 1)
    fresh = latest_ctx(audited)
    for key, _ in ctx.store.iterate(b"agreement/", prefix_end(b"agreement/")):
        fresh.store.delete(key)
    with pytest.raises(ValueError, match="audit hold account holds 180"):
        module.init_genesis(fresh, exported)


def test_genesis_rejects_a_hold_that_would_never_be_released(audited):
    ctx = latest_ctx(audited)
    module = next(m for m in audited.app.modules if m.name == "agreement")
    exported = json.loads(json.dumps(module.export_genesis(ctx)))
    exported["schedule"] = []  # the audit window's end is gone
    fresh = latest_ctx(audited)
    for key, _ in ctx.store.iterate(b"agreement/", prefix_end(b"agreement/")):
        fresh.store.delete(key)
    with pytest.raises(ValueError, match="window's end is not due"):
        module.init_genesis(fresh, exported)
