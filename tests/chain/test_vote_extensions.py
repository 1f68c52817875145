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
from tests.harness import CHAIN_ID, Key, TestChain, finalize_request, validator_signing_key

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
    c: TestChain, height: int, signers: int = 4, *, tamper: int | None = None, flags=None
):
    """The ExtendedCommitInfo CometBFT would hand the proposer of ``height + 1``."""
    commit = abci.ExtendedCommitInfo(round=0)
    for i, val in enumerate(c.validators):
        key = validator_signing_key(val.name)
        address = crypto.consensus_address(bytes(key.verify_key))
        vote = commit.votes.add(block_id_flag=validator_pb2.BLOCK_ID_FLAG_ABSENT)
        vote.validator.address, vote.validator.power = address, 1000
        if i >= signers:
            continue
        vote.block_id_flag = (flags or {}).get(i, validator_pb2.BLOCK_ID_FLAG_COMMIT)
        vote.vote_extension = b"ok:%d" % height
        signature = key.sign(
            extension_sign_bytes(CHAIN_ID, height, 0, vote.vote_extension)
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


def process(c: TestChain, txs) -> int:
    return c.app.process_proposal(abci.RequestProcessProposal(txs=txs, height=c.height + 1)).status


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
    result = net.block(txs, inject=False)
    assert len(result.tx_results) == len(txs) and result.tx_results[0].code == 0
    votes, total = net.handler.tallied[-1]
    assert total == 4000 and [v.extension for v in votes] == [b"ok:2"] * 4


def test_three_of_four_signers_is_enough_and_absent_ones_are_not_tallied(net):
    txs = propose(net, extended_commit(net, 2, signers=3))
    assert process(net, txs) == ACCEPT
    net.block(txs, inject=False)
    votes, total = net.handler.tallied[-1]
    assert (len(votes), total) == (3, 4000)


def test_two_thirds_or_less_of_the_power_is_rejected(net):
    assert process(net, propose(net, extended_commit(net, 2, signers=2))) == REJECT


def test_a_forged_extension_signature_is_left_out_not_tallied(net):
    txs = propose(net, extended_commit(net, 2, tamper=1))
    assert process(net, txs) == ACCEPT  # three valid signers still hold 3/4 of the power
    net.block(txs, inject=False)
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
    net.block(txs, inject=False)
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
    result = net.block(bad, inject=False)
    assert result.tx_results[0].code != 0 and len(net.handler.tallied) == before


def test_no_injection_before_the_enable_height(tmp_path):
    c = TestChain(tmp_path / "late")
    c.init(vote_extensions_from=10)
    txs = c.app.prepare_proposal(abci.RequestPrepareProposal(max_tx_bytes=1 << 20, height=2)).txs
    assert list(txs) == []
    assert c.app.finalize_block(finalize_request(1, [])).tx_results == []
    c.store.close()
