"""What a verdict does to money and reputation beyond the culprit (hand-computed).

- A verdict that names a culprit hop on a route spares that route's other hops the mismatch
  penalty (they computed honestly on what they were sent); with no culprit named the route's
  last hop takes it (it chose the tokens), its mates keep their reputation.
- An audited job's reputation changes wait with its payment.
- A failing audit that passes another complete route's output delivers that output, pays that
  route out of the hold and refunds the rest of the hold.

Params (tests/modules/jobs.py): price 10, prompt 12 bytes (3 tokens), 8 layers on 2 hops of 4,
max fee 1000, reputation x1.05 (reward), x0.95 (mismatch), x0.5 and 20% of stake (cheat).
"""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain import crypto
from chain.ante import FEE_COLLECTOR
from infera.agreement.v1 import types_pb2 as R
from infera.inference.v1 import types_pb2 as J
from modules.agreement import audits, invariants, logic
from tests.harness import INITIAL_BALANCE
from tests.modules.jobs import (
    OUTPUT,
    advance_to,
    commit_msg,
    history,
    hops,
    job,
    make_job_chain,
    ok,
    outlast_verdict_windows,
    reveal_msg,
    submit_msg,
)
from tests.modules.serving import FEE, STAKE, keeper, latest_ctx

LIE = [9, 9, 9]  # 3 tokens
TRUE = [101, 102, 103, 104]  # 4 tokens
H_LIE, H_TRUE = logic.compute_output_hash(LIE, b""), logic.compute_output_hash(TRUE, b"")
H_OUT = logic.compute_output_hash(OUTPUT, b"")
H_NONE = logic.compute_output_hash([7, 7], b"")  # an output no route claimed


def _reputation(node, key) -> int:
    return keeper(node, "workers").get_reputation(latest_ctx(node), key.address)


def _stake(node, key) -> int:
    return keeper(node, "workers").get_stake(latest_ctx(node), key.address)


def _collector(node) -> int:
    """What the protocol collected: the fee collector, plus what distribution already took
    from it (modules/distribution moves its balance on at the start of each block)."""
    collected = node.balance(crypto.module_address(FEE_COLLECTOR))
    return collected + node.balance(crypto.module_address("distribution"))


def _verdict_block(node, job_id: int, passing, culprits=()) -> None:
    """The single validator's verdict rides in the next block's extended commit."""
    verdict = R.Verdict(
        job_id=job_id,
        passing_output_hashes=sorted(passing),
        culprits=[R.Culprit(route_index=r, hop_index=h) for r, h in sorted(culprits)],
    )
    extension = R.VoteExtension(verdicts=[verdict]).SerializeToString(deterministic=True)
    node.block(extensions={node.validators[0].name: extension})


def _play(node, outputs_by_route) -> None:
    """Every hop of route r commits and reveals ``outputs_by_route[r]``."""
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter, redundancy=len(outputs_by_route))))
    node.r0 = _reputation(node, hops(node, 1)[0][0])  # every worker's, before the job
    plan = [(w, outputs_by_route[r]) for r, route in enumerate(hops(node, 1)) for w in route]
    ok(node, *[(w, commit_msg(w, 1, tokens=o)) for w, o in plan])
    advance_to(node, job(node, 1).commit_end_height)
    ok(node, *[(w, reveal_msg(w, 1, tokens=o)) for w, o in plan])


# --- disputes (r = 2: route 0 honest, route 1's hop 1 cheated) -------------------------------


@pytest.fixture
def disputed(tmp_path):
    node = make_job_chain(tmp_path / "d", vote_extensions_from=1)
    _play(node, [OUTPUT, LIE])
    assert job(node, 1).state == J.JOB_STATE_DISPUTED
    yield node
    node.store.close()


def test_a_named_culprit_spares_its_routes_other_hops_the_mismatch_penalty(disputed):
    routes, r0 = hops(disputed, 1), disputed.r0
    _verdict_block(disputed, 1, [H_OUT], [(1, 1)])
    assert history(disputed, 1).job.output_hash == H_OUT
    assert [_reputation(disputed, w) for w in routes[0]] == [r0 * 105 // 100] * 2
    assert _reputation(disputed, routes[1][0]) == r0  # honest, fed the cheat's frames: untouched
    assert _reputation(disputed, routes[1][1]) == r0 // 2  # the cheat penalty only
    assert _stake(disputed, routes[1][1]) == STAKE - STAKE // 5
    assert _stake(disputed, routes[1][0]) == STAKE


def test_without_a_named_culprit_the_failing_route_takes_the_mismatch_penalty(disputed):
    routes, r0 = hops(disputed, 1), disputed.r0
    _verdict_block(disputed, 1, [H_OUT])
    # the tokens are the last hop's choice: it alone takes the mismatch penalty (issue 14)
    assert [_reputation(disputed, w) for w in routes[1]] == [r0, r0 * 95 // 100]
    assert all(_stake(disputed, w) == STAKE for w in routes[1])


# --- audits (r = 3: routes 0 and 1 collude on LIE, route 2 reveals TRUE) ---------------------
# Held at finalization: the 2 winning routes' charge 10 x (3 + 3) x 2 = 120, plus the reserve
# for route 2's other output 10 x (3 + 4) x 1 = 70: 190; refund 1000 - 190 = 810.
# Redelivered to route 2 alone: charge 10 x (3 + 4) x 1 = 70 (<= 190); protocol floor(3.5) = 3,
# pool 67, each hop floor(67 x 4 / 8) = 33, dust 1: fee collector 4. Back to the submitter
# 190 - 70 = 120: refunded 930, and 930 + 70 = 1000 (the max fee).
HELD, CHARGE, HOP_PAY, PROTOCOL = 190, 70, 33, 4


@pytest.fixture
def outvoted(tmp_path):
    node = make_job_chain(
        tmp_path / "a",
        vote_extensions_from=1,
        agreement={"audit_probability": "1", "audit_window_blocks": 4},
    )
    _play(node, [LIE, LIE, TRUE])
    done = history(node, 1)
    assert done.job.output_hash == H_LIE and done.audit.held_amount == str(HELD)
    node.before = {w.bech32: node.balance(w.address) for r in hops(node, 1) for w in r}
    node.collector_before = _collector(node)
    yield node
    node.store.close()


def _gains(node) -> list[int]:
    return [node.balance(w.address) - node.before[w.bech32] for r in hops(node, 1) for w in r]


def test_an_audited_jobs_reputation_changes_wait_for_the_verdict(outvoted):
    assert all(_reputation(outvoted, w) == outvoted.r0 for r in hops(outvoted, 1) for w in r)


def test_a_failing_audit_delivers_the_honest_minority_and_pays_it_from_the_hold(outvoted):
    routes, r0 = hops(outvoted, 1), outvoted.r0
    _verdict_block(outvoted, 1, [H_TRUE], [(0, 0), (1, 0)])
    done = history(outvoted, 1)
    assert done.audit.decided and done.audit.failed
    assert done.audit.hold_status == R.HOLD_STATUS_PAID
    assert done.job.state == J.JOB_STATE_FINALIZED and done.job.output_hash == H_TRUE
    assert done.job.reason == audits.REDELIVER_REASON
    assert (done.job.refunded, done.settlement.charge, done.settlement.protocol_amount) == (
        "930",
        str(CHARGE),
        str(PROTOCOL),
    )
    assert done.settlement.winning_output_hash == H_TRUE
    assert [(p.route_index, p.amount) for p in done.settlement.payouts if p.layers] == [
        (2, str(HOP_PAY)),
        (2, str(HOP_PAY)),
    ]
    assert _gains(outvoted) == [0, 0, 0, 0, HOP_PAY, HOP_PAY]
    assert _collector(outvoted) - outvoted.collector_before == PROTOCOL
    assert outvoted.balance(outvoted.keys[7].address) == INITIAL_BALANCE - FEE - CHARGE
    assert outvoted.balance(audits.hold_address()) == 0
    assert invariants.check_audit_hold(latest_ctx(outvoted), keeper(outvoted, "agreement")) == ""
    # reputation: the honest route gains, the named culprits lose half, their route mates nothing
    assert [_reputation(outvoted, w) for w in routes[2]] == [r0 * 105 // 100] * 2
    assert [_reputation(outvoted, routes[r][0]) for r in (0, 1)] == [r0 // 2] * 2
    assert [_reputation(outvoted, routes[r][1]) for r in (0, 1)] == [r0] * 2
    assert [_stake(outvoted, routes[r][0]) for r in (0, 1)] == [STAKE - STAKE // 5] * 2
    assert [_stake(outvoted, routes[r][1]) for r in (0, 1)] == [STAKE] * 2


def test_a_failing_audit_without_culprits_gives_the_outvoted_routes_the_mismatch_penalty(
    outvoted,
):
    routes, r0 = hops(outvoted, 1), outvoted.r0
    _verdict_block(outvoted, 1, [H_TRUE])
    assert _gains(outvoted) == [0, 0, 0, 0, HOP_PAY, HOP_PAY]
    assert [_reputation(outvoted, w) for w in routes[0] + routes[1]] == [r0, r0 * 95 // 100] * 2
    assert [_reputation(outvoted, w) for w in routes[2]] == [r0 * 105 // 100] * 2


def test_a_failing_audit_passing_no_claimed_output_still_refunds_everything(outvoted):
    routes, r0 = hops(outvoted, 1), outvoted.r0
    _verdict_block(outvoted, 1, [H_NONE], [(0, 0), (1, 0)])
    done = history(outvoted, 1)
    assert done.audit.hold_status == R.HOLD_STATUS_REFUNDED
    assert (done.job.refunded, done.settlement.charge) == ("1000", "0")
    assert done.job.output_hash == H_LIE and done.job.reason == audits.REFUND_REASON
    assert _gains(outvoted) == [0] * 6
    assert outvoted.balance(outvoted.keys[7].address) == INITIAL_BALANCE - FEE
    # route 2 revealed an output the verdict did not pass and had no culprit: mismatch
    assert [_reputation(outvoted, w) for w in routes[2]] == [r0, r0 * 95 // 100]
    assert [_reputation(outvoted, routes[r][1]) for r in (0, 1)] == [r0] * 2


def test_a_passing_audit_makes_the_held_reputation_changes(outvoted):
    routes, r0 = hops(outvoted, 1), outvoted.r0
    _verdict_block(outvoted, 1, [H_LIE])
    assert [_reputation(outvoted, w) for w in routes[0] + routes[1]] == [r0 * 105 // 100] * 4
    assert [_reputation(outvoted, w) for w in routes[2]] == [r0, r0 * 95 // 100]
    assert _gains(outvoted)[:4] == [28] * 4  # floor((120 - 6) x 4 / 16) = 28


def test_an_undecided_audit_changes_no_reputation_and_pays_nobody(outvoted):
    routes, r0 = hops(outvoted, 1), outvoted.r0
    outlast_verdict_windows(outvoted, 1)
    assert history(outvoted, 1).audit.hold_status == R.HOLD_STATUS_REFUNDED
    assert [_reputation(outvoted, w) for w in routes[0] + routes[1] + routes[2]] == [r0] * 6
    assert _gains(outvoted) == [0] * 6


# --- a lone complete route under the quorum (r = 3: route 0 complete, routes 1 and 2 absent) --
# Paid alone when the verdict passes it: 10 x (3 + 4) x 1 = 70, hops 33 each, fee collector 4.
# Each absent hop: 0.001 x 10_000 = 10 slashed, reputation x 0.8.


@pytest.fixture
def lone(tmp_path):
    node = make_job_chain(tmp_path / "l", vote_extensions_from=1)
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    node.r0 = _reputation(node, hops(node, 1)[0][0])
    routes = hops(node, 1)
    ok(node, *[(w, commit_msg(w, 1, tokens=OUTPUT)) for w in routes[0]])
    advance_to(node, job(node, 1).commit_end_height)
    ok(node, *[(w, reveal_msg(w, 1, tokens=OUTPUT)) for w in routes[0]])
    assert job(node, 1).state == J.JOB_STATE_DISPUTED
    node.before = {w.bech32: node.balance(w.address) for r in routes for w in r}
    node.collector_before = _collector(node)
    yield node
    node.store.close()


def test_a_lone_complete_route_is_paid_when_the_verdict_passes_it(lone):
    routes, r0 = hops(lone, 1), lone.r0
    _verdict_block(lone, 1, [H_OUT])
    done = history(lone, 1)
    assert done.job.state == J.JOB_STATE_FINALIZED and done.job.output_hash == H_OUT
    assert (done.settlement.charge, done.settlement.protocol_amount) == (str(CHARGE), str(PROTOCOL))
    assert _gains(lone) == [HOP_PAY, HOP_PAY, 0, 0, 0, 0]
    assert _collector(lone) - lone.collector_before == PROTOCOL
    assert lone.balance(lone.keys[7].address) == INITIAL_BALANCE - FEE - CHARGE
    assert [_reputation(lone, w) for w in routes[0]] == [r0 * 105 // 100] * 2
    assert [_reputation(lone, w) for w in routes[1] + routes[2]] == [r0 * 8 // 10] * 4
    assert [_stake(lone, w) for w in routes[1] + routes[2]] == [STAKE - 10] * 4


def test_a_lone_complete_route_the_verdict_fails_is_refunded(lone):
    routes = hops(lone, 1)
    _verdict_block(lone, 1, [], [(0, 1)])
    assert job(lone, 1).state == J.JOB_STATE_EXPIRED
    assert _gains(lone) == [0] * 6
    assert lone.balance(lone.keys[7].address) == INITIAL_BALANCE - FEE
    assert _stake(lone, routes[0][1]) == STAKE - STAKE // 5


def test_a_lone_complete_route_without_a_verdict_is_refunded_after_its_verdict_windows(lone):
    advance_to(lone, job(lone, 1).deadline_height)
    assert job(lone, 1).state == J.JOB_STATE_DISPUTED  # the deadline waits for the verdict
    outlast_verdict_windows(lone, 1)
    assert job(lone, 1).state == J.JOB_STATE_EXPIRED
    assert _gains(lone) == [0] * 6
    assert lone.balance(lone.keys[7].address) == INITIAL_BALANCE - FEE
    assert all(_stake(lone, w) == STAKE for w in hops(lone, 1)[0])


def test_a_redelivery_emits_the_release_then_the_refund(outvoted):
    verdict = R.Verdict(job_id=1, passing_output_hashes=[H_TRUE])
    extension = R.VoteExtension(verdicts=[verdict]).SerializeToString(deterministic=True)
    result = outvoted.block(extensions={outvoted.validators[0].name: extension})
    kinds = [e.type for e in result.events if e.type.startswith("infera.payout")]
    assert kinds == ["infera.payout_released", "infera.payout_refunded"]
    amounts = [
        {a.key: a.value for a in e.attributes}["amount"]
        for e in result.events
        if e.type.startswith("infera.payout")
    ]
    assert amounts == [str(CHARGE), str(HELD - CHARGE)]
