"""Bounded verification of bad beacon shares: a bad share is found by bisection (at most
1 + 2 ceil(log2 n) aggregate checks, not n + 1), and its validator's shares are then ignored for
BAD_SHARE_EXCLUSION_HEIGHTS heights, so one byzantine validator can make the chain pay the search
at most once per window. Being ignored is abstaining, which it could do anyway."""

from __future__ import annotations

import math

import chain.pb  # noqa: F401

from chain.vote_extensions import split_extension, wrap_extension
from modules.beacon import keys, logic
from modules.beacon.keeper import BAD_SHARE_EXCLUSION_HEIGHTS, EVENT_BAD_SHARE
from tests.harness import CHAIN_ID, Key, TestChain, validator_bls_secret
from tests.modules.test_beacon import _ctx, _finalize_with, _keeper, _resign

N = 16


def test_one_bad_share_among_16_is_found_with_at_most_9_checks(monkeypatch):
    message = logic.compute_message(CHAIN_ID, 5)
    secrets = [logic.compute_secret(b"bisect/%d" % i) for i in range(N)]
    shares = [
        logic.Share(
            bytes([i]) * 20, 1, logic.compute_pubkey(s), logic.compute_share(s, CHAIN_ID, 5)
        )
        for i, s in enumerate(secrets)
    ]
    wrong = logic.compute_share(secrets[11], CHAIN_ID, 6)  # a valid point, the wrong message
    shares[11] = logic.Share(shares[11].validator_address, 1, shares[11].pubkey, wrong)
    checks = []
    real = logic._verifies
    monkeypatch.setattr(
        logic, "_verifies", lambda s, m, p=None: checks.append(len(s)) or real(s, m, p)
    )
    valid = logic.compute_valid_shares(shares, message)
    assert valid == shares[:11] + shares[12:]
    assert len(checks) <= 1 + 2 * math.ceil(math.log2(N)) < N + 1
    assert checks[0] == N  # the first check is the one aggregate over all


def test_a_validator_with_a_bad_share_is_ignored_for_the_exclusion_window(tmp_path):
    c = TestChain(tmp_path / "x", validators=[Key(f"val{i}") for i in range(4)], beacon=True)
    c.init(vote_extensions_from=1)
    c.block()  # 1
    c.block()  # 2
    commit = c.extended_commit(2, {})
    bad_vote = commit.votes[0]
    bad_address = bytes(bad_vote.validator.address)
    bad_name = next(
        v.name
        for v in c.validators
        if logic.compute_share(validator_bls_secret(v.name), CHAIN_ID, 2)
        == split_extension(bytes(bad_vote.vote_extension))[0]
    )
    wrong = logic.compute_share(validator_bls_secret(bad_name), CHAIN_ID, 99)
    _, inner = split_extension(bytes(bad_vote.vote_extension))
    bad_vote.vote_extension = wrap_extension(wrong, inner)
    _resign(c, bad_vote, 2)
    _finalize_with(c, commit)  # 3: reveals beacon(2) without the bad share
    keeper = _keeper(c)
    assert keeper.get_excluded_until(_ctx(c), bad_address) == 2 + BAD_SHARE_EXCLUSION_HEIGHTS
    others = [v.name for v in c.validators if v.name != bad_name]

    def without_bad(height: int) -> bytes | None:
        shares = [
            logic.Share(b"", 1, b"", logic.compute_share(validator_bls_secret(n), CHAIN_ID, height))
            for n in others
        ]
        return logic.compute_beacon(shares, 4)

    assert keeper.get_beacon(_ctx(c), 2) == without_bad(2)
    # Block 4 carries the commit of 3 with every share valid, the excluded one included: it is
    # ignored (no verification spent on it), the others still make a beacon.
    c.block()
    assert keeper.get_beacon(_ctx(c), 3) == without_bad(3)
    c.store.close()


def test_an_exclusion_ends_after_its_window(tmp_path):
    from chain.context import BlockInfo, Context, ExecMode
    from chain.store.cache import MemStore
    from modules.beacon.keeper import BeaconKeeper

    keeper, store = BeaconKeeper(), MemStore()
    names = ["val0", "val1", "val2", "val3"]
    addresses = [bytes([i + 1]) * 20 for i in range(4)]

    def ctx(height: int) -> Context:
        return Context(store=store, block=BlockInfo(CHAIN_ID, height, 0), mode=ExecMode.FINALIZE)

    for name, address in zip(names, addresses, strict=True):
        keeper.set_key(ctx(1), address, logic.compute_pubkey(validator_bls_secret(name)), b"")
    store.set(keys.EXCLUDED + addresses[0], (10).to_bytes(8, "big"))

    def shares(height: int) -> list[tuple[bytes, int, bytes]]:
        return [
            (a, 1, logic.compute_share(validator_bls_secret(n), CHAIN_ID, height))
            for n, a in zip(names, addresses, strict=True)
        ]

    def aggregate(height: int, members: list[str]) -> bytes | None:
        return logic.compute_beacon(
            [
                logic.Share(b"", 1, b"", s)
                for a, _, s in shares(height)
                if names[addresses.index(a)] in members
            ],
            4,
        )

    assert keeper.process_shares(ctx(11), 10, shares(10), 4) == aggregate(10, names[1:])
    assert keeper.get_excluded_until(ctx(11), addresses[0]) == 10
    assert keeper.process_shares(ctx(12), 11, shares(11), 4) == aggregate(11, names)
    assert store.get(keys.EXCLUDED + addresses[0]) is None  # the expired record is dropped


def test_the_bad_share_event_names_the_validator_and_the_window(tmp_path):
    c = TestChain(tmp_path / "e", validators=[Key(f"val{i}") for i in range(4)], beacon=True)
    c.init(vote_extensions_from=1)
    c.block()
    commit = c.extended_commit(1, {})
    vote = commit.votes[1]
    _, inner = split_extension(bytes(vote.vote_extension))
    # A point that is not this validator's signature of height 1 (a malformed one never gets
    # here: the extension is left out of the commit as malformed, i.e. the validator abstains).
    vote.vote_extension = wrap_extension(
        logic.compute_share(logic.compute_secret(b"z"), CHAIN_ID, 1), inner
    )
    _resign(c, vote, 1)
    response = _finalize_returning(c, commit)
    address = bytes(vote.validator.address)
    events = [e for r in response.tx_results for e in r.events] + list(response.events)
    bad = [e for e in events if e.type == EVENT_BAD_SHARE]
    assert len(bad) == 1
    attributes = {a.key: a.value for a in bad[0].attributes}
    assert attributes == {"consensus_address": address.hex(), "height": "1",
                          "excluded_until": str(1 + BAD_SHARE_EXCLUSION_HEIGHTS)}  # fmt: skip
    assert c.store.latest().get(keys.EXCLUDED + address) == (
        1 + BAD_SHARE_EXCLUSION_HEIGHTS
    ).to_bytes(8, "big")
    assert _keeper(c).get_beacon(_ctx(c), 1) is not None  # 3 of 4 shares still make one
    c.store.close()


def _finalize_returning(c: TestChain, commit):
    """test_beacon._finalize_with, returning FinalizeBlock's response."""
    import hashlib

    from chain.vote_extensions import encode_injected
    from tendermint.abci import types_pb2 as abci
    from tests.harness import finalize_request, last_commit_of

    c.height += 1
    req = finalize_request(c.height, [encode_injected(commit)], last_commit=last_commit_of(commit))
    req.hash = hashlib.sha256(b"%d" % c.height).digest()
    response = c.app.finalize_block(req)
    assert response.tx_results[0].code == 0
    c.app.commit(abci.RequestCommit())
    return response
