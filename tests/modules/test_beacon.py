"""The randomness beacon: each validator's unique BLS share over (chain id, height) rides in its
vote extension; the shares of more than 2/3 of the power, aggregated, give beacon(H), revealed
in block H + 1. A validator can abstain, never choose; the block's txs do not enter it."""

from __future__ import annotations

import hashlib

import chain.pb  # noqa: F401

import pytest

from chain.context import BlockInfo, Context, ExecMode
from chain.vote_extensions import BEACON_MARKER, split_extension, wrap_extension
from modules.beacon import logic
from modules.beacon.genesis import genesis_entry
from tendermint.abci import types_pb2 as abci
from tests.harness import (
    CHAIN_ID,
    Key,
    TestChain,
    finalize_request,
    validator_bls_secret,
    validator_pubkey,
)


def _keeper(c: TestChain):
    return next(m for m in c.app.modules if m.name == "beacon").keeper


def _ctx(c: TestChain) -> Context:
    block = BlockInfo(CHAIN_ID, c.height + 1, 0)
    return Context(store=c.store.latest(), block=block, mode=ExecMode.QUERY)


@pytest.fixture
def net(tmp_path):
    c = TestChain(tmp_path / "b", validators=[Key(f"val{i}") for i in range(4)], beacon=True)
    c.init(vote_extensions_from=1)
    c.block()  # 1
    c.block()  # 2: carries the commit of 1, so beacon(1)
    yield c
    c.store.close()


def test_shares_are_unique_so_a_validator_can_only_sign_or_abstain():
    secret = validator_bls_secret("val0")
    assert logic.compute_share(secret, CHAIN_ID, 7) == logic.compute_share(secret, CHAIN_ID, 7)
    assert logic.compute_share(secret, CHAIN_ID, 7) != logic.compute_share(secret, CHAIN_ID, 8)


def test_the_beacon_of_a_height_is_revealed_in_the_next_block(net):
    keeper = _keeper(net)
    first = keeper.get_beacon(_ctx(net), 1)
    assert first is not None and len(first) == 32
    assert keeper.get_beacon(_ctx(net), 2) is None  # its shares ride in block 3
    net.block()
    assert keeper.get_beacon(_ctx(net), 2) not in (None, first)


def test_the_beacon_is_the_hash_of_the_aggregate_of_all_shares(net):
    shares = [
        logic.Share(b"", 1, b"", logic.compute_share(validator_bls_secret(v.name), CHAIN_ID, 1))
        for v in net.validators
    ]
    assert _keeper(net).get_beacon(_ctx(net), 1) == logic.compute_beacon(shares, 4)


def test_three_of_four_shares_make_a_beacon_two_do_not(tmp_path):
    for sharing, expect in ((3, True), (2, False)):
        c = TestChain(tmp_path / f"s{sharing}", validators=[Key(f"val{i}") for i in range(4)],
                      beacon=True)  # fmt: skip
        c.init(vote_extensions_from=1)
        c.block()
        commit = c.extended_commit(1, {})
        for vote in commit.votes[sharing:]:  # abstainers send no share (still a signed vote)
            _, inner = split_extension(bytes(vote.vote_extension))
            vote.vote_extension = inner
            _resign(c, vote, 1)
        _finalize_with(c, commit)
        assert (_keeper(c).get_beacon(_ctx(c), 1) is not None) is expect
        c.store.close()


def test_an_invalid_share_is_left_out_of_the_aggregate(net):
    net.block()  # 3
    commit = net.extended_commit(3, {})
    wrong = logic.compute_share(validator_bls_secret(net.validators[0].name), CHAIN_ID, 99)
    _, inner = split_extension(bytes(commit.votes[0].vote_extension))
    commit.votes[0].vote_extension = wrap_extension(wrong, inner)  # a valid point, wrong height
    _resign(net, commit.votes[0], 3)
    _finalize_with(net, commit)
    honest = [
        logic.Share(bytes(v.validator.address), 1, b"", split_extension(bytes(v.vote_extension))[0])
        for v in commit.votes[1:]
    ]
    assert _keeper(net).get_beacon(_ctx(net), 3) == logic.compute_beacon(honest, 4)


def test_a_malformed_share_is_rejected_in_verify_vote_extension(net):
    status = abci.ResponseVerifyVoteExtension
    bad = BEACON_MARKER + b"\x01" * 96
    req = abci.RequestVerifyVoteExtension(vote_extension=bad)
    assert net.app.verify_vote_extension(req).status == status.REJECT
    good = wrap_extension(logic.compute_share(validator_bls_secret("val1"), CHAIN_ID, 3), b"")
    req = abci.RequestVerifyVoteExtension(vote_extension=good)
    assert net.app.verify_vote_extension(req).status == status.ACCEPT
    short = abci.RequestVerifyVoteExtension(vote_extension=BEACON_MARKER + b"\x00" * 10)
    assert net.app.verify_vote_extension(short).status == status.REJECT


def test_extend_vote_carries_this_validators_share(tmp_path):
    from chain.wiring import build_app

    secret = validator_bls_secret("val0")
    c = TestChain(tmp_path / "e", beacon=True)
    c.init(vote_extensions_from=1)
    c.block()
    store = c.store
    app = build_app(store, beacon_secret=secret)
    app.chain_id = CHAIN_ID
    extension = app.extend_vote(abci.RequestExtendVote(height=2)).vote_extension
    share, inner = split_extension(bytes(extension))
    assert share == logic.compute_share(secret, CHAIN_ID, 2) and inner == b""
    store.close()


def test_a_registration_without_a_valid_proof_of_possession_stops_genesis(tmp_path):
    c = TestChain(tmp_path / "g", beacon=True)
    from tests.harness import genesis_app_state, init_chain_request

    state = genesis_app_state(c.keys, c.validators)
    entry = genesis_entry(validator_pubkey("val0"), validator_bls_secret("val0"))
    entry["proof_of_possession"] = genesis_entry(
        validator_pubkey("val0"), validator_bls_secret("other")
    )["proof_of_possession"]
    state["beacon"] = {"keys": [entry]}
    with pytest.raises(ValueError, match="proof of possession"):
        c.app.init_chain(init_chain_request(state, vote_extensions_from=1))
    c.store.close()


def test_the_txs_of_a_block_do_not_enter_the_beacon(tmp_path):
    """Two chains, same validators: block 2 holds other txs (and another block hash), and
    beacon(1), revealed in it, is the same."""
    values = []
    for name, txs in (("a", []), ("b", [b"junk tx", b"another"])):
        c = TestChain(tmp_path / name, validators=[Key(f"val{i}") for i in range(4)], beacon=True)
        c.init(vote_extensions_from=1)
        c.block()
        c.block(txs)
        values.append(_keeper(c).get_beacon(_ctx(c), 1))
        c.store.close()
    assert values[0] is not None and values[0] == values[1]


def _resign(c: TestChain, vote, height: int) -> None:
    from chain import crypto
    from chain.vote_extensions import extension_sign_bytes
    from tests.harness import validator_signing_key

    for v in c.validators:
        key = validator_signing_key(v.name)
        if crypto.consensus_address(bytes(key.verify_key)) == bytes(vote.validator.address):
            sign_bytes = extension_sign_bytes(CHAIN_ID, height, 0, bytes(vote.vote_extension))
            vote.extension_signature = key.sign(sign_bytes).signature


def _finalize_with(c: TestChain, commit) -> None:
    from chain.vote_extensions import encode_injected
    from tests.harness import last_commit_of

    c.height += 1
    req = finalize_request(c.height, [encode_injected(commit)], last_commit=last_commit_of(commit))
    req.hash = hashlib.sha256(b"%d" % c.height).digest()
    assert c.app.finalize_block(req).tx_results[0].code == 0
    c.app.commit(abci.RequestCommit())
