"""Validators' verdicts, carried by vote extensions, settle disputes and audits: the hop shown
wrong is slashed, honest outputs that pass are paid even when they differ, abstention changes
nothing, and malformed extensions are refused."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain.vote_extensions import ExtendedVote
from infera.agreement.v1 import types_pb2 as R
from infera.inference.v1 import types_pb2 as J
from modules.agreement import logic
from modules.agreement.verdicts import decode_extension
from tendermint.abci import types_pb2 as abci
from tests.harness import last_commit_of
from tests.modules.jobs import (
    OUTPUT,
    advance_to,
    commit_msg,
    history,
    hops,
    job,
    make_job_chain,
    ok,
    reveal_msg,
    submit_msg,
)
from tests.modules.serving import STAKE, keeper, latest_ctx

OTHER = [9, 9, 9]
H_OUT, H_OTHER = logic.compute_output_hash(OUTPUT, b""), logic.compute_output_hash(OTHER, b"")


def _play(node, job_id, outputs):
    routes = hops(node, job_id)
    plan = [
        (routes[r][h], outputs.get((r, h)))
        for r in range(len(routes))
        for h in range(len(routes[r]))
    ]
    ok(node, *[(w, commit_msg(w, job_id, tokens=o)) for w, o in plan if o is not None])
    advance_to(node, job(node, job_id).commit_end_height)
    ok(node, *[(w, reveal_msg(w, job_id, tokens=o)) for w, o in plan if o is not None])


def _verdict(job_id, passing, culprits=()):
    return R.Verdict(
        job_id=job_id,
        passing_output_hashes=sorted(passing),
        culprits=[R.Culprit(route_index=r, hop_index=h) for r, h in sorted(culprits)],
    )


def _vote_block(node, verdicts):
    """The single validator extends its precommit with ``verdicts``; the next block carries it."""
    node.app.vote_extensions.source = lambda ids: verdicts
    extension = node.app.extend_vote(abci.RequestExtendVote(height=node.height)).vote_extension
    commit = node.extended_commit(node.height, {node.validators[0].name: extension})
    req = abci.RequestPrepareProposal(
        max_tx_bytes=1 << 20, height=node.height + 1, local_last_commit=commit
    )
    txs = list(node.app.prepare_proposal(req).txs)
    accept = abci.ResponseProcessProposal.ACCEPT
    assert (
        node.app.process_proposal(
            abci.RequestProcessProposal(
                txs=txs, height=node.height + 1, proposed_last_commit=last_commit_of(commit)
            )
        ).status
        == accept
    )
    result = node.block(txs, inject=False)
    assert result.tx_results[0].code == 0
    return extension


def _stake(node, key):
    return keeper(node, "workers").get_stake(latest_ctx(node), key.address)


def _reputation(node, key):
    return keeper(node, "workers").get_reputation(latest_ctx(node), key.address)


@pytest.fixture
def node(tmp_path):
    chain_ = make_job_chain(tmp_path / "v", vote_extensions_from=1)
    yield chain_
    chain_.store.close()


@pytest.fixture
def disputed(node):
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    _play(node, 1, {(0, 0): OUTPUT, (0, 1): OUTPUT, (1, 0): OTHER, (1, 1): OTHER})
    assert job(node, 1).state == J.JOB_STATE_DISPUTED
    return node


def test_verdict_resolves_a_dispute_and_slashes_the_deviating_hop(disputed):
    routes = hops(disputed, 1)
    cheat, honest_next = routes[1][1], routes[1][0]
    extension = _vote_block(disputed, [_verdict(1, [H_OUT], [(1, 1)])])
    assert decode_extension(extension).verdicts[0].job_id == 1
    state = history(disputed, 1)
    assert state.job.state == J.JOB_STATE_FINALIZED and state.job.output_hash == H_OUT
    assert state.dispute.resolved and state.dispute.winning_output_hash == H_OUT
    assert _stake(disputed, cheat) == STAKE - STAKE // 5  # slash_fraction_cheat 0.2
    assert _stake(disputed, honest_next) == STAKE  # the verifier named hop 1, not hop 0
    assert _reputation(disputed, cheat) < 1_000_000
    assert [v.output_hash for v in state.votes] == [H_OUT]
    paid = {p.recipient for p in state.settlement.payouts}
    assert {w.bech32 for w in routes[0]} <= paid and cheat.bech32 not in paid


def test_honest_outputs_that_pass_are_paid_even_when_they_differ(disputed):
    routes = hops(disputed, 1)
    _vote_block(disputed, [_verdict(1, [H_OUT, H_OTHER])])
    state = history(disputed, 1)
    assert state.job.state == J.JOB_STATE_FINALIZED
    paid = {p.recipient for p in state.settlement.payouts}
    assert {w.bech32 for r in routes[:2] for w in r} <= paid
    assert all(_stake(disputed, w) == STAKE for r in routes[:2] for w in r)


def test_no_passing_output_refunds_the_submitter_and_slashes_the_culprits(disputed):
    routes = hops(disputed, 1)
    submitter = disputed.keys[7]
    before = disputed.balance(submitter.address)
    _vote_block(disputed, [_verdict(1, [], [(0, 0), (1, 0)])])
    state = history(disputed, 1)
    assert state.job.state == J.JOB_STATE_EXPIRED and state.dispute.resolved
    assert disputed.balance(submitter.address) > before  # escrow came back
    assert _stake(disputed, routes[0][0]) < STAKE and _stake(disputed, routes[1][0]) < STAKE


def test_abstaining_validators_change_nothing(disputed):
    _vote_block(disputed, [])
    assert job(disputed, 1).state == J.JOB_STATE_DISPUTED
    assert not history(disputed, 1).votes


def test_a_verdicts_unclaimed_output_is_ignored_and_the_claimed_ones_fail(disputed):
    # Tallied per claimed output: passing only an output no complete route claimed fails both
    # claimed ones (it was refused whole, and the dispute stayed open, before).
    routes = hops(disputed, 1)
    _vote_block(disputed, [_verdict(1, [b"\x07" * 32], [(1, 1)])])
    assert job(disputed, 1).state == J.JOB_STATE_EXPIRED
    assert _stake(disputed, routes[1][1]) == STAKE - STAKE // 5


def test_a_third_or_less_of_the_power_decides_nothing(disputed):
    handler = disputed.app.vote_extensions
    verdict = _verdict(1, [H_OUT], [(1, 1)]).SerializeToString(deterministic=True)
    ext = R.VoteExtension(verdicts=[R.Verdict.FromString(verdict)]).SerializeToString(
        deterministic=True
    )
    from chain.context import Context, ExecMode

    ctx = Context(
        store=disputed.store.latest(), block=latest_ctx(disputed).block, mode=ExecMode.FINALIZE
    )
    cache_ctx, cache = ctx.branch()
    handler.process_votes(
        cache_ctx, [ExtendedVote(b"\x01" * 20, 2, ext), ExtendedVote(b"\x02" * 20, 1, b"")], 3
    )
    assert job(disputed, 1).state == J.JOB_STATE_DISPUTED  # 2 of 3 is not more than 2/3
    assert cache.changes()  # but the vote itself was recorded on the branch


def test_non_canonical_extensions_are_rejected():
    from modules.agreement.verdicts import VerdictVotes

    handler = VerdictVotes(keeper=None)
    good = R.VoteExtension(verdicts=[_verdict(1, [H_OUT]), _verdict(2, [])]).SerializeToString(
        deterministic=True
    )
    assert handler.verify_vote_extension(good) and handler.verify_vote_extension(b"")
    unsorted = R.VoteExtension(verdicts=[_verdict(2, []), _verdict(1, [])]).SerializeToString()
    bad_hash = R.VoteExtension(
        verdicts=[R.Verdict(job_id=1, passing_output_hashes=[b"x"])]
    ).SerializeToString()
    dup = R.VoteExtension(verdicts=[_verdict(1, []), _verdict(1, [])]).SerializeToString()
    for ext in (unsorted, bad_hash, dup, b"\xff\xff", good + b"\x08\x01"):
        assert not handler.verify_vote_extension(ext)


@pytest.fixture
def audited(tmp_path):
    chain_ = make_job_chain(
        tmp_path / "a", vote_extensions_from=1, agreement={"audit_probability": "1"}
    )
    submitter = chain_.keys[7]
    ok(chain_, (submitter, submit_msg(submitter)))
    # two colluding routes agree on a wrong output: agreement alone would pay them
    _play(chain_, 1, {(r, h): OTHER for r in range(3) for h in range(2)})
    assert job(chain_, 1).state == J.JOB_STATE_FINALIZED
    yield chain_
    chain_.store.close()


def test_audit_catches_colluding_routes(audited):
    routes = hops(audited, 1)
    assert keeper(audited, "agreement").get_audit(latest_ctx(audited), 1) is not None
    _vote_block(audited, [_verdict(1, [H_OUT], [(0, 0), (1, 0), (2, 0)])])
    audit = keeper(audited, "agreement").get_audit(latest_ctx(audited), 1)
    assert audit.decided and audit.failed
    assert all(_stake(audited, routes[r][0]) < STAKE for r in range(3))
    assert all(_stake(audited, routes[r][1]) == STAKE for r in range(3))


def test_audit_that_confirms_the_output_punishes_nobody(audited):
    routes = hops(audited, 1)
    _vote_block(audited, [_verdict(1, [H_OTHER])])
    audit = keeper(audited, "agreement").get_audit(latest_ctx(audited), 1)
    assert audit.decided and not audit.failed
    assert all(_stake(audited, w) == STAKE for r in routes for w in r)


def test_audit_draw_follows_the_probability():
    drawn = sum(logic.is_audited(i.to_bytes(32, "big"), 7, "0.25") for i in range(400))
    assert 70 <= drawn <= 130
    assert not any(logic.is_audited(bytes([i]) * 32, i, "0") for i in range(100))
    assert all(logic.is_audited(bytes([i]) * 32, i, "1") for i in range(100))


def test_open_verifications_lists_disputes_until_decided(disputed):
    from infera.agreement.v1 import query_pb2

    def open_ids():
        res = disputed.query(
            "/infera.agreement.v1.Query/OpenVerifications",
            query_pb2.QueryOpenVerificationsRequest(),
        )
        return list(query_pb2.QueryOpenVerificationsResponse.FromString(res.value).job_ids)

    assert open_ids() == [1]
    _vote_block(disputed, [_verdict(1, [H_OUT])])
    assert open_ids() == []


def test_job_history_shows_the_audit(audited):
    assert history(audited, 1).audit.job_id == 1
