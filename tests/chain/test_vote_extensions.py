"""Vote extensions: attached by ExtendVote, checked by VerifyVoteExtension, carried into the next
block by the proposer, verified in ProcessProposal and FinalizeBlock, tallied by the handler."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain import crypto
from chain.vote_extensions import (
    INJECTED_MARKER,
    decode_injected,
    extension_sign_bytes,
)
from tendermint.abci import types_pb2 as abci
from tendermint.types import validator_pb2
from tests.harness import (
    CHAIN_ID,
    Key,
    TestChain,
    finalize_request,
    last_commit_of,
    validator_signing_key,
)

ACCEPT = abci.ResponseProcessProposal.ACCEPT
REJECT = abci.ResponseProcessProposal.REJECT


class RecordingHandler:
    """Extensions are b"ok:<height>"; anything else is malformed. Records what it tallies."""

    def __init__(self) -> None:
        self.tallied: list[tuple[list, int]] = []
        self.fail = False

    def extend_vote(self, ctx, height):
        if self.fail:
            raise RuntimeError("verifier sidecar down")
        return b"ok:%d" % height

    def verify_vote_extension(self, extension):
        return extension == b"" or extension.startswith(b"ok:")

    def process_votes(self, ctx, votes, total_power):
        self.tallied.append((list(votes), total_power))


@pytest.fixture
def net(tmp_path):
    """A chain of four equal validators with extensions enabled from height 2."""
    c = TestChain(tmp_path / "ve", validators=[Key(f"val{i}") for i in range(4)])
    c.init(vote_extensions_from=2)
    c.handler = RecordingHandler()
    c.app.vote_extensions = c.handler
    c.block()  # height 1
    c.block()  # height 2: its precommits carry extensions
    yield c
    c.store.close()


def extended_commit(
    c: TestChain,
    height: int,
    signers: int = 4,
    *,
    tamper: int | None = None,
    flags=None,
    round_: int = 0,
):
    """The ExtendedCommitInfo CometBFT would hand the proposer of ``height + 1``."""
    commit = abci.ExtendedCommitInfo(round=round_)
    for i, val in enumerate(c.validators_in_commit_order()):
        key = validator_signing_key(val.name)
        address = crypto.consensus_address(bytes(key.verify_key))
        vote = commit.votes.add(block_id_flag=validator_pb2.BLOCK_ID_FLAG_ABSENT)
        vote.validator.address, vote.validator.power = address, 1000
        if i >= signers:
            continue
        vote.block_id_flag = (flags or {}).get(i, validator_pb2.BLOCK_ID_FLAG_COMMIT)
        vote.vote_extension = b"ok:%d" % height
        signature = key.sign(
            extension_sign_bytes(CHAIN_ID, height, round_, vote.vote_extension)
        ).signature
        if tamper == i:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        vote.extension_signature = signature
    return commit


def propose(c: TestChain, commit) -> list[bytes]:
    req = abci.RequestPrepareProposal(
        max_tx_bytes=1 << 20, height=c.height + 1, local_last_commit=commit
    )
    return list(c.app.prepare_proposal(req).txs)


def process(c: TestChain, txs, last_commit=None) -> int:
    """ProcessProposal of ``txs``; ``last_commit`` defaults to the one the marker claims (an
    honest proposer's block LastCommit is its extended commit without the extensions)."""
    if last_commit is None:
        marker = decode_injected(txs[0]) if txs else None
        last_commit = last_commit_of(marker) if marker else c.last_commit(c.height)
    req = abci.RequestProcessProposal(
        txs=txs, height=c.height + 1, proposed_last_commit=last_commit
    )
    return c.app.process_proposal(req).status


def finalize(c: TestChain, txs, last_commit=None) -> abci.ResponseFinalizeBlock:
    if last_commit is None:
        last_commit = last_commit_of(decode_injected(txs[0]))
    return c.block(txs, inject=False, last_commit=last_commit)


def test_extend_vote_returns_the_handlers_extension(net):
    assert net.app.extend_vote(abci.RequestExtendVote(height=3)).vote_extension == b"ok:3"


def test_a_failing_handler_abstains_instead_of_halting(net):
    net.handler.fail = True
    assert net.app.extend_vote(abci.RequestExtendVote(height=3)).vote_extension == b""


def test_verify_vote_extension_accepts_or_rejects_never_unknown(net):
    verify = net.app.verify_vote_extension
    status = abci.ResponseVerifyVoteExtension
    assert verify(abci.RequestVerifyVoteExtension(vote_extension=b"ok:3")).status == status.ACCEPT
    assert verify(abci.RequestVerifyVoteExtension(vote_extension=b"")).status == status.ACCEPT
    assert (
        verify(abci.RequestVerifyVoteExtension(vote_extension=b"\xff junk")).status == status.REJECT
    )
    assert (
        verify(abci.RequestVerifyVoteExtension(vote_extension=b"ok:" + b"x" * 70_000)).status
        == status.REJECT
    )


def test_proposer_injects_the_extended_commit_first_and_everyone_accepts_it(net):
    txs = propose(net, extended_commit(net, 2))
    assert txs and txs[0].startswith(INJECTED_MARKER)
    assert decode_injected(txs[0]).votes[0].vote_extension == b"ok:2"
    assert process(net, txs) == ACCEPT
    result = finalize(net, txs)
    assert len(result.tx_results) == len(txs) and result.tx_results[0].code == 0
    votes, total = net.handler.tallied[-1]
    assert total == 4000 and [v.extension for v in votes] == [b"ok:2"] * 4


def test_three_of_four_signers_is_enough_and_absent_ones_are_not_tallied(net):
    txs = propose(net, extended_commit(net, 2, signers=3))
    assert process(net, txs) == ACCEPT
    finalize(net, txs)
    votes, total = net.handler.tallied[-1]
    assert (len(votes), total) == (3, 4000)


def test_two_thirds_or_less_of_the_power_is_rejected(net):
    assert process(net, propose(net, extended_commit(net, 2, signers=2))) == REJECT


def test_a_forged_extension_signature_is_left_out_not_tallied(net):
    txs = propose(net, extended_commit(net, 2, tamper=1))
    assert process(net, txs) == ACCEPT  # three valid signers still hold 3/4 of the power
    finalize(net, txs)
    votes, _ = net.handler.tallied[-1]
    assert len(votes) == 3


def test_forged_signatures_cannot_make_up_the_two_thirds(net):
    assert process(net, propose(net, extended_commit(net, 2, signers=3, tamper=1))) == REJECT


def test_an_extension_for_another_height_is_rejected(net):
    assert process(net, propose(net, extended_commit(net, 1))) == REJECT


def test_a_block_without_the_extended_commit_is_rejected(net):
    assert process(net, []) == REJECT
    a, b = net.keys[0], net.keys[1]
    from tests.harness import send_msg

    assert process(net, [net.tx(a, send_msg(a, b.address, 1), bump=False)]) == REJECT


def test_a_malformed_extension_is_left_out_so_one_faulty_validator_cannot_halt_the_chain(net):
    """CometBFT adds late precommits to the last commit without VerifyVoteExtension."""
    commit = extended_commit(net, 2)
    key = validator_signing_key(net.validators[0].name)
    commit.votes[0].vote_extension = b"evil"
    commit.votes[0].extension_signature = key.sign(
        extension_sign_bytes(CHAIN_ID, 2, 0, b"evil")
    ).signature
    txs = propose(net, commit)
    assert process(net, txs) == ACCEPT
    finalize(net, txs)
    votes, _ = net.handler.tallied[-1]
    assert b"evil" not in [v.extension for v in votes] and len(votes) == 3


def test_a_duplicated_validator_is_rejected(net):
    commit = extended_commit(net, 2)
    commit.votes.append(commit.votes[0])
    assert process(net, propose(net, commit)) == REJECT


def test_finalize_skips_an_invalid_commit_deterministically(net):
    """Replaying nodes never run ProcessProposal: FinalizeBlock must check again, not crash."""
    bad = propose(net, extended_commit(net, 2, signers=2))
    before = len(net.handler.tallied)
    result = finalize(net, bad)
    assert result.tx_results[0].code != 0 and len(net.handler.tallied) == before


def test_no_injection_before_the_enable_height(tmp_path):
    c = TestChain(tmp_path / "late")
    c.init(vote_extensions_from=10)
    txs = c.app.prepare_proposal(abci.RequestPrepareProposal(max_tx_bytes=1 << 20, height=2)).txs
    assert list(txs) == []
    assert c.app.finalize_block(finalize_request(1, [])).tx_results == []
    c.store.close()


# -- forged extended commits: a proposer cannot make up a majority (issue 12, item 2) ------------


def _sign(c: TestChain, vote, height: int, extension: bytes, round_: int = 0) -> None:
    """(Re)sign ``vote``'s extension with the key of the validator it names."""
    by_address = {
        crypto.consensus_address(bytes(validator_signing_key(v.name).verify_key)): v
        for v in c.validators
    }
    key = validator_signing_key(by_address[bytes(vote.validator.address)].name)
    vote.vote_extension = extension
    vote.extension_signature = key.sign(
        extension_sign_bytes(CHAIN_ID, height, round_, extension)
    ).signature


def _only_mine(c: TestChain, height: int) -> abci.ExtendedCommitInfo:
    """The proposer (first in commit order) keeps its own vote, with a forged verdict."""
    commit = extended_commit(c, height)
    del commit.votes[1:]
    _sign(c, commit.votes[0], height, b"ok:forged")
    return commit


def _is_ignored_by_finalize(c: TestChain, commit) -> bool:
    """FinalizeBlock with CometBFT's honest decided commit: the marker fails, nothing is tallied."""
    before = len(c.handler.tallied)
    result = finalize(c, propose(c, commit), last_commit=c.last_commit(c.height))
    return result.tx_results[0].code != 0 and len(c.handler.tallied) == before


def test_a_commit_with_only_the_proposers_extension_is_rejected(net):
    commit = _only_mine(net, 2)
    assert process(net, propose(net, commit), last_commit=net.last_commit(2)) == REJECT
    assert _is_ignored_by_finalize(net, commit)


def test_a_forged_last_commit_is_checked_against_the_apps_own_validator_set(net):
    """Even where marker and last commit agree, the voters are the app's validator set."""
    commit = _only_mine(net, 2)
    assert process(net, propose(net, commit), last_commit=last_commit_of(commit)) == REJECT
    before = len(net.handler.tallied)
    finalize(net, propose(net, commit), last_commit=last_commit_of(commit))
    assert len(net.handler.tallied) == before


def test_an_inflated_power_is_rejected(net):
    commit = extended_commit(net, 2)
    commit.votes[0].validator.power = 10**6  # would outweigh the other three 300 times
    _sign(net, commit.votes[0], 2, b"ok:forged")
    assert process(net, propose(net, commit), last_commit=net.last_commit(2)) == REJECT
    assert process(net, propose(net, commit), last_commit=last_commit_of(commit)) == REJECT
    assert _is_ignored_by_finalize(net, commit)


def test_zero_and_negative_powers_are_rejected(net):
    commit = extended_commit(net, 2, signers=1)
    for vote, power in zip(commit.votes[1:], (-500, 0, 0), strict=True):
        vote.validator.power = power  # the total shrinks to 500: one signer would be a majority
    assert process(net, propose(net, commit), last_commit=net.last_commit(2)) == REJECT
    assert process(net, propose(net, commit), last_commit=last_commit_of(commit)) == REJECT
    assert _is_ignored_by_finalize(net, commit)


def test_validators_in_another_order_are_rejected(net):
    commit = extended_commit(net, 2)
    commit.votes[0].CopyFrom(extended_commit(net, 2).votes[1])
    commit.votes[1].CopyFrom(extended_commit(net, 2).votes[0])
    assert process(net, propose(net, commit), last_commit=net.last_commit(2)) == REJECT


def test_another_round_than_the_decided_one_is_rejected(net):
    """Signatures made for round 1 are valid for a marker claiming round 1; CometBFT decided 0."""
    commit = extended_commit(net, 2, round_=1)
    assert process(net, propose(net, commit), last_commit=net.last_commit(2)) == REJECT
    assert _is_ignored_by_finalize(net, commit)


def test_marking_a_committed_validator_absent_is_rejected(net):
    """Dropping an honest voter's extension changes the tally: the flags must be CometBFT's."""
    commit = extended_commit(net, 2, flags={3: validator_pb2.BLOCK_ID_FLAG_ABSENT})
    commit.votes[3].vote_extension, commit.votes[3].extension_signature = b"", b""
    assert process(net, propose(net, commit), last_commit=net.last_commit(2)) == REJECT
    assert _is_ignored_by_finalize(net, commit)


def test_the_decided_commit_and_the_marker_agreeing_is_accepted(net):
    """The twin of the forgeries: an honest commit where one validator did not vote."""
    commit = extended_commit(net, 2, signers=3)
    decided = last_commit_of(commit)
    assert process(net, propose(net, commit), last_commit=decided) == ACCEPT
    assert finalize(net, propose(net, commit), last_commit=decided).tx_results[0].code == 0
    assert len(net.handler.tallied[-1][0]) == 3


def test_the_voters_of_a_height_are_the_set_cometbft_had_then(net):
    """A validator jailed at height 3 loses its power from height 5 (CometBFT applies updates two
    heights later): it must be in the commits of 3 and 4, and not in the commit of 5."""
    jailed = net.validators_in_commit_order()[3]
    address = crypto.consensus_address(bytes(validator_signing_key(jailed.name).verify_key))
    evidence = abci.Misbehavior(
        type=abci.DUPLICATE_VOTE, validator=abci.Validator(address=address, power=1000), height=2
    )
    result = net.block(misbehavior=[evidence])  # height 3
    assert [u.power for u in result.validator_updates] == [0]
    net.block()  # 4: the commit of 3, all four
    net.block()  # 5: the commit of 4, all four
    assert process(net, propose(net, extended_commit(net, 5))) == REJECT
    commit = extended_commit(net, 5)
    del commit.votes[3]
    assert process(net, propose(net, commit)) == ACCEPT
    assert finalize(net, propose(net, commit)).tx_results[0].code == 0
    assert net.handler.tallied[-1][1] == 3000


def test_the_injected_commit_is_bounded_by_the_block_bytes(net):
    """PrepareProposal never returns more than max_tx_bytes: the largest extension is dropped
    first (it counts as absent), the rest still make a valid block."""
    commit = extended_commit(net, 2)
    _sign(net, commit.votes[2], 2, b"ok:" + b"x" * 20_000)
    small = len(INJECTED_MARKER) + extended_commit(net, 2).ByteSize() + 64
    req = abci.RequestPrepareProposal(max_tx_bytes=small, height=3, local_last_commit=commit)
    txs = list(net.app.prepare_proposal(req).txs)
    assert sum(len(tx) for tx in txs) <= small
    assert process(net, txs, last_commit=net.last_commit(2)) == ACCEPT
    finalize(net, txs, last_commit=net.last_commit(2))
    votes, _ = net.handler.tallied[-1]
    assert len(votes) == 3 and all(len(v.extension) < 100 for v in votes)


def test_a_commit_that_cannot_fit_is_left_out_rather_than_overflowing_the_block(net):
    req = abci.RequestPrepareProposal(
        max_tx_bytes=100, height=3, local_last_commit=extended_commit(net, 2), txs=[b"x" * 50]
    )
    txs = list(net.app.prepare_proposal(req).txs)
    assert sum(len(tx) for tx in txs) <= 100 and not any(
        tx.startswith(INJECTED_MARKER) for tx in txs
    )


def test_the_forging_proposer_test_hook_makes_proposals_the_others_reject(net):
    """chain/unsafe_faults.py, used by tests/integration/test_forged_commit.py, forges for real."""
    from chain.unsafe_faults import ForgedCommitProposer

    proposer = net.validators_in_commit_order()[0]
    net.handler.source = None
    ForgedCommitProposer(net.app, validator_signing_key(proposer.name)).install()
    txs = propose(net, extended_commit(net, 2))
    forged = decode_injected(txs[0])
    assert len(forged.votes) == 1 and forged.votes[0].validator.power == 4000
    assert process(net, txs, last_commit=net.last_commit(2)) == REJECT


def test_the_recorded_validator_sets_survive_a_restart(net):
    """The sets live in committed state, so a restarted (or replaying) node checks the same."""
    net.reopen()
    net.app.vote_extensions = net.handler
    assert process(net, propose(net, extended_commit(net, 2))) == ACCEPT
    assert process(net, propose(net, _only_mine(net, 2)), last_commit=net.last_commit(2)) == REJECT
