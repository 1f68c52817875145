"""The beacon's BLS work off the consensus thread (modules/beacon/worker.py): a child process
signs the next height's share and runs the aggregate check before FinalizeBlock asks for it.
What ran early is looked up by its full inputs, so the chain gets the same state (app hash)
with or without the worker, with a hit, a miss, or a bad share."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain.vote_extensions import split_extension, wrap_extension
from modules.beacon import logic
from modules.beacon.worker import BeaconWorker
from tendermint.abci import types_pb2 as abci
from tests.harness import CHAIN_ID, Key, TestChain, validator_bls_secret
from tests.modules.test_beacon import _keeper, _resign


@pytest.fixture(scope="module")
def worker():
    w = BeaconWorker()
    w.start()
    yield w
    w.close()


def test_extend_vote_returns_the_share_signed_in_the_background(worker):
    secret = validator_bls_secret("val0")
    hits, misses = worker.hits, worker.misses
    assert worker.share(secret, CHAIN_ID, 5) == logic.compute_share(secret, CHAIN_ID, 5)
    assert (worker.hits, worker.misses) == (hits, misses + 1)  # not started: signed inline
    worker.prefetch_share(secret, CHAIN_ID, 6)
    assert worker.share(secret, CHAIN_ID, 6) == logic.compute_share(secret, CHAIN_ID, 6)
    assert worker.hits == hits + 1
    assert worker.share(secret, CHAIN_ID, 6) == logic.compute_share(secret, CHAIN_ID, 6)  # round 1


def test_a_closed_worker_computes_inline():
    w = BeaconWorker()
    w.close()
    secret = validator_bls_secret("val1")
    w.prefetch_share(secret, CHAIN_ID, 3)
    assert w.share(secret, CHAIN_ID, 3) == logic.compute_share(secret, CHAIN_ID, 3)
    assert (w.hits, w.misses) == (0, 1)


def _chain(tmp_path, name: str, worker: BeaconWorker | None) -> TestChain:
    c = TestChain(tmp_path / name, validators=[Key(f"val{i}") for i in range(4)], beacon=True)
    c.init(vote_extensions_from=1)
    c.app.beacon.worker = worker  # type: ignore[union-attr]
    return c


def _observe_all(c: TestChain, height: int, commit) -> None:
    """What VerifyVoteExtension does on a node as the precommits of ``height`` arrive."""
    for vote in commit.votes:
        req = abci.RequestVerifyVoteExtension(
            validator_address=vote.validator.address, height=height,
            vote_extension=vote.vote_extension,
        )  # fmt: skip
        status = c.app.verify_vote_extension(req).status
        assert status == abci.ResponseVerifyVoteExtension.ACCEPT


def test_the_same_app_hashes_whether_the_early_check_hit_or_missed(tmp_path, worker):

    plain, early = _chain(tmp_path, "plain", None), _chain(tmp_path, "early", worker)
    for c in (plain, early):
        c.block()  # 1
    hashes = []

    # Height 1: every validator's share seen in VerifyVoteExtension -> the check starts early.
    _observe_all(early, 1, early.extended_commit(1, {}))
    hits = worker.hits
    hashes.append([c.block().app_hash for c in (plain, early)])  # 2: beacon(1)
    assert worker.hits == hits + 1

    # Height 2: nothing seen early (a restarted node, a replay): computed inline.
    misses = worker.misses
    hashes.append([c.block().app_hash for c in (plain, early)])  # 3: beacon(2)
    assert worker.misses == misses + 1

    for a, b in hashes:
        assert a == b
    for c in (plain, early):
        c.store.close()


@pytest.mark.slow
def test_the_early_check_finds_the_same_bad_share_as_the_inline_one(tmp_path, worker):
    """A bad share (a valid point, another height's message): the same validator excluded,
    the same beacon, the same app hash."""
    from tests.modules.test_beacon import _finalize_with

    plain, early = _chain(tmp_path, "plain", None), _chain(tmp_path, "early", worker)
    for c in (plain, early):
        c.block()  # 1
        c.block()  # 2
        c.block()  # 3
    commits = []
    for c in (plain, early):
        commit = c.extended_commit(3, {})
        wrong = logic.compute_share(validator_bls_secret("val2"), CHAIN_ID, 99)
        vote = next(
            v
            for v in commit.votes
            if split_extension(bytes(v.vote_extension))[0]
            == logic.compute_share(validator_bls_secret("val2"), CHAIN_ID, 3)
        )
        vote.vote_extension = wrap_extension(wrong, split_extension(bytes(vote.vote_extension))[1])
        _resign(c, vote, 3)
        commits.append(commit)
    _observe_all(early, 3, commits[1])
    hits = worker.hits
    for c, commit in zip((plain, early), commits, strict=True):
        _finalize_with(c, commit)  # 4: beacon(3) without val2
    assert worker.hits == hits + 1
    assert plain.store.last_app_hash == early.store.last_app_hash
    excluded = [
        _keeper(c).get_excluded_until(_ctx(c), bytes(vote.validator.address))
        for c in (plain, early)
    ]
    assert excluded[0] == excluded[1] > 0
    ctx_values = [_keeper(c).get_beacon(_ctx(c), h) for c in (plain, early) for h in (1, 2, 3)]
    assert all(ctx_values) and ctx_values[:3] == ctx_values[3:]
    for c in (plain, early):
        c.store.close()


def test_process_proposal_starts_the_check_of_the_shares_the_proposer_included(tmp_path, worker):
    """One validator's share never arrived here (VerifyVoteExtension saw 3 of 4): no early start
    from the observed shares; ProcessProposal(2), holding the commit, starts it."""
    from chain.vote_extensions import encode_injected
    from tests.harness import finalize_request, last_commit_of

    c = _chain(tmp_path, "pp", worker)
    c.block()  # 1
    commit = c.extended_commit(1, {})
    partial = abci.ExtendedCommitInfo()
    partial.CopyFrom(commit)
    del partial.votes[3:]
    _observe_all(c, 1, partial)
    txs = [encode_injected(commit)]
    proposal = abci.RequestProcessProposal(
        txs=txs, height=2, proposed_last_commit=last_commit_of(commit)
    )
    assert c.app.process_proposal(proposal).status == abci.ResponseProcessProposal.ACCEPT
    hits = worker.hits
    c.height += 1
    c.app.finalize_block(finalize_request(2, txs, last_commit=last_commit_of(commit)))
    c.app.commit(abci.RequestCommit())
    assert worker.hits == hits + 1
    assert _keeper(c).get_beacon(_ctx(c), 1) is not None
    c.store.close()


def _ctx(c: TestChain):
    from tests.modules.test_beacon import _ctx as ctx

    return ctx(c)


@pytest.mark.slow
def test_a_share_seen_early_that_the_commit_does_not_carry_is_never_used(tmp_path, worker):
    """The attack: a validator shows this node one share (VerifyVoteExtension) and the proposer
    a bad one. The early check ran on what this node saw; FinalizeBlock's inputs differ, so it
    takes nothing from it: the commit's bad share is found and its validator excluded, as on a
    node without the background process."""
    from tests.modules.test_beacon import _finalize_with

    c = _chain(tmp_path, "equivocate", worker)
    c.block()  # 1
    seen = c.extended_commit(1, {})
    _observe_all(c, 1, seen)  # every honest share: the early check starts (and passes)
    carried = c.extended_commit(1, {})
    vote = carried.votes[0]
    wrong = logic.compute_share(validator_bls_secret("val0"), CHAIN_ID, 77)
    vote.vote_extension = wrap_extension(wrong, split_extension(bytes(vote.vote_extension))[1])
    _resign(c, vote, 1)
    misses = worker.misses
    _finalize_with(c, carried)  # 2: no ProcessProposal on this node (it was catching up)
    assert worker.misses == misses + 1  # computed inline: the early result was for other inputs
    address = bytes(vote.validator.address)
    assert _keeper(c).get_excluded_until(_ctx(c), address) > 0
    honest = [
        logic.Share(b"", 1, b"", split_extension(bytes(v.vote_extension))[0])
        for v in carried.votes[1:]
    ]
    assert _keeper(c).get_beacon(_ctx(c), 1) == logic.compute_beacon(honest, 4)
    c.store.close()
