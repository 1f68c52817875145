"""The tally: quorum, payouts by layers, penalties for hops that revealed nothing, disputes
(recorded, refunded at the deadline, decidable by resolve_dispute or votes) and per-block caps."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain.errors import ChainError
from infera.agreement.v1 import types_pb2 as agreement_types
from infera.inference.v1 import types_pb2
from modules.agreement import logic, settlement, verifications
from tests.harness import INITIAL_BALANCE
from tests.modules.jobs import (
    OUTPUT,
    advance_to,
    commit_msg,
    escrow_balance,
    history,
    hops,
    job,
    make_job_chain,
    ok,
    outlast_verdict_windows,
    reveal_msg,
    submit_msg,
    verdict_extension,
)
from tests.modules.serving import FEE, STAKE, keeper, latest_ctx

OTHER = [9, 9, 9]  # a different generation
R = agreement_types


def _reputation(node, key) -> int:
    return keeper(node, "workers").get_reputation(latest_ctx(node), key.address)


def _stake(node, key) -> int:
    return keeper(node, "workers").get_stake(latest_ctx(node), key.address)


def _play(node, job_id: int, outputs: dict[tuple[int, int], list[int] | None]) -> None:
    """Commit in one block and reveal in the block after the commit window: hop (route, hop)
    produces outputs[(route, hop)]; None (or missing) means it never commits."""
    routes = hops(node, job_id)
    plan = [
        (routes[r][h], outputs.get((r, h)))
        for r in range(len(routes))
        for h in range(len(routes[r]))
    ]
    ok(node, *[(w, commit_msg(w, job_id, tokens=out)) for w, out in plan if out is not None])
    advance_to(node, job(node, job_id).commit_end_height)
    ok(node, *[(w, reveal_msg(w, job_id, tokens=out)) for w, out in plan if out is not None])


def _honest(routes: int = 3, hops_per_route: int = 2) -> dict[tuple[int, int], list[int] | None]:
    return {(r, h): OUTPUT for r in range(routes) for h in range(hops_per_route)}


def test_two_of_three_routes_win_and_share_the_fee_by_layers_after_the_audit(tmp_path):
    node = make_job_chain(tmp_path / "v", vote_extensions_from=1)
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    routes = hops(node, 1)
    _play(node, 1, {**_honest(), (2, 0): OTHER, (2, 1): OTHER})
    held = history(node, 1)
    assert held.job.state == types_pb2.JOB_STATE_FINALIZED
    assert held.job.output_hash == logic.compute_output_hash(OUTPUT, b"")
    # route 2 claimed another output: the job is audited (its verdict could name a cheat there);
    # a passing verdict pays what the tally would have paid
    assert held.audit.diverged and not held.settlement.payouts
    extension = verdict_extension(1, [logic.compute_output_hash(OUTPUT, b"")])
    node.block(extensions={node.validators[0].name: extension})
    done = history(node, 1)
    assert done.audit.hold_status == R.HOLD_STATUS_PAID
    # charge = 10 x (3 + 4) x 2 winning routes = 140; protocol floor(140 x 0.05) = 7; pool 133;
    # each hop serves 4 of 16 winning layers: floor(133 / 4) = 33; dust 1 goes to the protocol
    assert (done.settlement.charge, done.settlement.protocol_amount) == ("140", "8")
    assert [(p.route_index, p.amount) for p in done.settlement.payouts][:4] == [
        (0, "33"),
        (0, "33"),
        (1, "33"),
        (1, "33"),
    ]
    assert (done.job.refunded, done.job.escrow) == ("860", "0")
    assert node.balance(submitter.address) == INITIAL_BALANCE - FEE - 140
    for winner in routes[0] + routes[1]:
        assert _reputation(node, winner) == 1_050_000
    # mismatch, reputation only, no slash: on the last hop alone (it chose the tokens)
    assert [_reputation(node, loser) for loser in routes[2]] == [1_000_000, 950_000]
    for loser in routes[2]:
        assert _stake(node, loser) == STAKE
    assert list(done.settlement.penalties) == []


def test_hop_that_revealed_nothing_is_slashed_and_loses_reputation(node, submitter):
    ok(node, (submitter, submit_msg(submitter)))
    routes = hops(node, 1)
    absent = routes[2][1]
    _play(node, 1, {**_honest(), (2, 1): None})
    done = history(node, 1)
    assert done.job.state == types_pb2.JOB_STATE_FINALIZED
    assert [c.status for c in done.settlement.claims] == [
        R.ROUTE_STATUS_COMPLETE,
        R.ROUTE_STATUS_COMPLETE,
        R.ROUTE_STATUS_INCOMPLETE,
    ]
    (penalty,) = done.settlement.penalties
    assert (penalty.worker, penalty.reason, penalty.slashed) == (absent.bech32, "no_commit", "10")
    assert _stake(node, absent) == STAKE - 10
    assert _reputation(node, absent) == 800_000
    assert _reputation(node, routes[2][0]) == 1_000_000  # revealed, but its route is incomplete


def test_committed_but_unrevealed_hop_is_penalized_as_no_reveal(node, submitter):
    ok(node, (submitter, submit_msg(submitter, redundancy=1)))
    first, last = hops(node, 1)[0]
    ok(node, (first, commit_msg(first, 1)), (last, commit_msg(last, 1)))
    ok(node, (first, reveal_msg(first, 1)))
    advance_to(node, job(node, 1).reveal_end_height)
    done = history(node, 1)
    assert done.job.state == types_pb2.JOB_STATE_EXPIRED  # r=1 needs its one route complete
    assert [(p.worker, p.reason) for p in done.settlement.penalties] == [(last.bech32, "no_reveal")]
    assert done.settlement.outcome == R.OUTCOME_NO_QUORUM


def test_a_lone_complete_route_under_the_quorum_goes_to_the_validators(node, submitter):
    ok(node, (submitter, submit_msg(submitter)))
    _play(node, 1, {(0, 0): OUTPUT, (0, 1): OUTPUT})
    done = history(node, 1)
    assert done.job.state == types_pb2.JOB_STATE_DISPUTED  # not refunded at once any more
    assert done.settlement.outcome == R.OUTCOME_DISPUTED
    assert [c.status for c in done.dispute.claims] == [
        R.ROUTE_STATUS_COMPLETE,
        R.ROUTE_STATUS_INCOMPLETE,
        R.ROUTE_STATUS_INCOMPLETE,
    ]
    # every hop that committed revealed at height 8: tallied then, not at reveal_end (10)
    assert done.settlement.height == 8 < done.job.reveal_end_height
    assert len(done.settlement.penalties) == 4


def test_too_few_routes_and_none_complete_expire_at_once(node, submitter):
    ok(node, (submitter, submit_msg(submitter)))
    _play(node, 1, {(0, 0): OUTPUT, (1, 1): OUTPUT})
    done = history(node, 1)
    assert done.job.state == types_pb2.JOB_STATE_EXPIRED
    assert done.settlement.outcome == R.OUTCOME_NO_QUORUM
    assert node.balance(submitter.address) == INITIAL_BALANCE - FEE
    assert len(done.settlement.penalties) == 4


@pytest.fixture
def disputed(node, submitter):
    """Job 1: route 0 claims OUTPUT, route 1 claims OTHER, route 2 never shows up."""
    ok(node, (submitter, submit_msg(submitter)))
    _play(node, 1, {(0, 0): OUTPUT, (0, 1): OUTPUT, (1, 0): OTHER, (1, 1): OTHER})
    return node


def test_disagreement_without_quorum_is_recorded_as_a_dispute(disputed):
    state = history(disputed, 1)
    assert state.job.state == types_pb2.JOB_STATE_DISPUTED
    assert state.settlement.outcome == R.OUTCOME_DISPUTED
    claims = [(c.route_index, c.status, c.output_hash) for c in state.dispute.claims]
    assert claims == [
        (0, R.ROUTE_STATUS_COMPLETE, logic.compute_output_hash(OUTPUT, b"")),
        (1, R.ROUTE_STATUS_COMPLETE, logic.compute_output_hash(OTHER, b"")),
        (2, R.ROUTE_STATUS_INCOMPLETE, b""),
    ]
    assert escrow_balance(disputed) == 1000  # nothing paid while disputed
    assert len(state.settlement.penalties) == 2  # only the absent route


def test_an_undecided_dispute_outlives_its_deadline_then_refunds_and_slashes_no_disputant(
    disputed, submitter
):
    routes = hops(disputed, 1)
    advance_to(disputed, 14)  # the deadline it was submitted with
    assert job(disputed, 1).state == types_pb2.JOB_STATE_DISPUTED  # in its verdict window
    closed = outlast_verdict_windows(disputed, 1)
    state = history(disputed, 1)
    assert state.job.state == types_pb2.JOB_STATE_EXPIRED and state.job.final_height == closed
    assert state.job.reason == verifications.UNDECIDED_DISPUTE_REASON
    assert not state.dispute.resolved
    assert disputed.balance(submitter.address) == INITIAL_BALANCE - FEE
    for disputant in routes[0] + routes[1]:
        assert (_stake(disputed, disputant), _reputation(disputed, disputant)) == (STAKE, 1_000_000)


def test_resolve_dispute_pays_the_chosen_output_like_a_quorum(disputed):
    routes = hops(disputed, 1)
    ctx = latest_ctx(disputed)
    agreement = keeper(disputed, "agreement")
    agreement.resolve_dispute(ctx, 1, logic.compute_output_hash(OUTPUT, b""))
    resolved = keeper(disputed, "inference").get_job(ctx, 1)
    assert resolved.state == types_pb2.JOB_STATE_FINALIZED
    record = agreement.get_settlement(ctx, 1)
    assert (record.outcome, record.charge) == (R.OUTCOME_FINALIZED, "70")  # 10 x 7 x 1 route
    assert agreement.get_dispute(ctx, 1).resolved
    workers = keeper(disputed, "workers")
    assert workers.get_reputation(ctx, routes[0][0].address) == 1_050_000
    assert workers.get_reputation(ctx, routes[1][0].address) == 1_000_000  # relayed only
    assert workers.get_reputation(ctx, routes[1][-1].address) == 950_000  # chose the tokens


@pytest.mark.parametrize("output", [[1], OTHER])
def test_resolve_dispute_rejects_an_unclaimed_output_or_a_settled_job(disputed, output):
    ctx = latest_ctx(disputed)
    agreement = keeper(disputed, "agreement")
    if output == OTHER:
        agreement.resolve_dispute(ctx, 1, logic.compute_output_hash(OTHER, b""))
    with pytest.raises(ChainError) as err:
        agreement.resolve_dispute(ctx, 1, logic.compute_output_hash(output, b""))
    assert err.value.code == (16 if output == OTHER else 17)


def test_votes_with_two_thirds_of_the_power_resolve_a_dispute(disputed):
    ctx = latest_ctx(disputed)
    agreement = keeper(disputed, "agreement")
    winner = logic.compute_output_hash(OTHER, b"")
    for name, power in (("v1", 60), ("v2", 6)):
        vote = R.DisputeVote(job_id=1, validator=name, output_hash=winner, power=power, height=12)
        agreement.set_vote(ctx, name.encode().ljust(20, b"\x00"), vote)
    assert not settlement.resolve_by_votes(ctx, agreement, 1, total_power=100)  # 66 of 100
    vote = R.DisputeVote(job_id=1, validator="v3", output_hash=winner, power=1, height=12)
    agreement.set_vote(ctx, b"v3".ljust(20, b"\x00"), vote)
    assert settlement.resolve_by_votes(ctx, agreement, 1, total_power=100)  # 67 of 100
    assert keeper(disputed, "inference").get_job(ctx, 1).output_hash == winner
    assert len(list(agreement.iterate_votes(ctx, 1))) == 3


def test_tallies_beyond_the_per_block_cap_wait_for_the_next_block(tmp_path):
    node = make_job_chain(tmp_path / "cap", agreement={"max_settlements_per_block": 1})
    submitter = node.keys[7]
    ok(node, *[(submitter, submit_msg(submitter, redundancy=1)) for _ in range(2)])
    play = [(w, job_id) for job_id in (1, 2) for w in hops(node, job_id)[0]]
    ok(node, *[(w, commit_msg(w, j)) for w, j in play])
    ok(node, *[(w, reveal_msg(w, j)) for w, j in play])  # height 6: both due now
    assert [job(node, j).state for j in (1, 2)] == [
        types_pb2.JOB_STATE_FINALIZED,
        types_pb2.JOB_STATE_REVEALING,
    ]
    node.block()
    assert job(node, 2).state == types_pb2.JOB_STATE_FINALIZED
    assert job(node, 2).final_height == 7
    node.store.close()


def test_the_deadline_tallies_jobs_the_capped_rounds_did_not_reach(tmp_path):
    node = make_job_chain(
        tmp_path / "backlog",
        inference={"min_deadline_blocks": 2},
        agreement={"max_settlements_per_block": 1},
    )
    submitter = node.keys[7]
    # deadline 4 + 7 = 11, one block after reveal_end 10
    ok(
        node,
        *[(submitter, submit_msg(submitter, redundancy=1, deadline_blocks=7)) for _ in range(3)],
    )
    play = [(w, job_id) for job_id in (1, 2, 3) for w in hops(node, job_id)[0]]
    ok(node, *[(w, commit_msg(w, j)) for w, j in play])  # nobody reveals
    advance_to(node, 11)
    finals = [job(node, j).final_height for j in (1, 2, 3)]
    assert finals == [10, 11, 11]  # one by the capped rounds, two by the deadline hook
    for j in (1, 2, 3):
        record = history(node, j).settlement
        assert record.outcome == R.OUTCOME_NO_QUORUM
        assert {p.reason for p in record.penalties} == {"no_reveal"}
    assert escrow_balance(node) == 0
    node.store.close()


def test_undecided_disputes_expire_after_their_verdict_windows_capped_per_block(tmp_path):
    node = make_job_chain(
        tmp_path / "capexp",
        agreement={"max_settlements_per_block": 1, "audit_window_blocks": 3},
    )
    submitter = node.keys[7]
    ok(node, *[(submitter, submit_msg(submitter, redundancy=2)) for _ in range(2)])
    outputs = {(0, 0): OUTPUT, (0, 1): OUTPUT, (1, 0): OTHER, (1, 1): OTHER}
    plan = [
        (hops(node, j)[r][h], j, out) for j in (1, 2) for (r, h), out in sorted(outputs.items())
    ]
    ok(node, *[(w, commit_msg(w, j, tokens=out)) for w, j, out in plan])
    ok(node, *[(w, reveal_msg(w, j, tokens=out)) for w, j, out in plan])
    node.block()  # one tally per block: job 2 is tallied a block after job 1
    assert {job(node, j).state for j in (1, 2)} == {types_pb2.JOB_STATE_DISPUTED}
    opened = [history(node, j).dispute.opened_height for j in (1, 2)]
    assert opened[1] == opened[0] + 1
    # three verdict windows of 3 blocks each (past the submitted deadline, 14), one closed per
    # block: each closes 9 blocks after it opened
    advance_to(node, opened[1] + 9)
    assert [job(node, j).final_height for j in (1, 2)] == [o + 9 for o in opened]
    assert {job(node, j).state for j in (1, 2)} == {types_pb2.JOB_STATE_EXPIRED}
    assert escrow_balance(node) == 0
    node.store.close()
