"""gov genesis round trip, determinism of gov blocks, and hostile proposal contents."""

from __future__ import annotations

import json

import chain.pb  # noqa: F401

from google.protobuf import any_pb2

from chain import crypto
from chain.context import BlockInfo, Context, ExecMode
from chain.store import MemStore
from modules.gov import genesis
from modules.gov.keeper import GovKeeper
from modules.gov.logic import NO, YES
from tests.harness import Key
from tests.modules.gov.helpers import (
    GOV,
    MIN_DEPOSIT,
    gov_chain,
    keeper,
    query_ctx,
    run,
    submit_msg,
    update_params_msg,
    vote_msg,
)
from tests.modules.gov.test_proposals import _audit_change

VAL = [Key("val0"), Key("val1"), Key("val2")]
USER = Key("user0")


def _busy_blocks(chain) -> list[bytes]:
    """A proposal, a deposit-period one, votes both ways, and the tally: the app hashes."""
    hashes = []
    for txs in (
        [chain.tx(USER, submit_msg(USER, _audit_change()))],
        [chain.tx(USER, submit_msg(USER, _audit_change(), deposit=MIN_DEPOSIT // 4))],
        [chain.tx(VAL[0], vote_msg(VAL[0], 1, YES)), chain.tx(VAL[1], vote_msg(VAL[1], 1, NO))],
        [],
        [],
        [],
        [],
    ):
        hashes.append(chain.block(txs).app_hash)
    return hashes


def test_two_fresh_chains_fed_the_same_gov_blocks_agree(tmp_path):
    assert _busy_blocks(gov_chain(tmp_path / "a")) == _busy_blocks(gov_chain(tmp_path / "b"))


class _Bank:
    def __init__(self, held: int) -> None:
        self.held = held

    def get_balance(self, ctx, address, denom) -> int:
        return self.held


def test_genesis_round_trips_open_proposals_deposits_and_votes(tmp_path):
    chain = gov_chain(tmp_path)
    assert run(chain, USER, submit_msg(USER, _audit_change())).code == 0
    assert run(chain, VAL[0], vote_msg(VAL[0], 1, YES)).code == 0
    exported = genesis.export_genesis(query_ctx(chain), keeper(chain, "gov"))
    assert [d["amount"]["amount"] for d in exported["deposits"]] == [str(MIN_DEPOSIT)]
    assert len(exported["votes"]) == 1

    ctx = Context(store=MemStore(), block=BlockInfo("c", 1, 0), mode=ExecMode.GENESIS)
    fresh = GovKeeper(_Bank(MIN_DEPOSIT), staking=None, upgrades=None)  # type: ignore[arg-type]
    genesis.init_genesis(ctx, fresh, exported)
    again = genesis.export_genesis(ctx, fresh)
    assert json.loads(json.dumps(again)) == json.loads(json.dumps(exported))  # Any key order


def test_genesis_refuses_deposits_the_gov_account_does_not_hold(tmp_path):
    import pytest

    chain = gov_chain(tmp_path)
    assert run(chain, USER, submit_msg(USER, _audit_change())).code == 0
    exported = genesis.export_genesis(query_ctx(chain), keeper(chain, "gov"))
    ctx = Context(store=MemStore(), block=BlockInfo("c", 1, 0), mode=ExecMode.GENESIS)
    fresh = GovKeeper(_Bank(0), staking=None, upgrades=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="gov account holds"):
        genesis.init_genesis(ctx, fresh, exported)


def test_genesis_keeps_vote_seats_and_refuses_a_vote_count_its_votes_do_not_match(tmp_path):
    import pytest

    from modules.gov.invariants import check_invariants

    chain = gov_chain(tmp_path)
    assert run(chain, USER, submit_msg(USER, _audit_change())).code == 0
    assert run(chain, VAL[0], vote_msg(VAL[0], 1, YES)).code == 0
    exported = genesis.export_genesis(query_ctx(chain), keeper(chain, "gov"))
    assert exported["votes"][0]["seat_stake"] == str(10**9)  # val0's tokens
    ctx = Context(store=MemStore(), block=BlockInfo("c", 1, 0), mode=ExecMode.GENESIS)
    fresh = GovKeeper(_Bank(MIN_DEPOSIT), staking=None, upgrades=None)  # type: ignore[arg-type]
    genesis.init_genesis(ctx, fresh, exported)
    assert list(fresh.iterate_seats(ctx, 1)) == [(10**9, VAL[0].address)]
    fresh.bank = _Bank(MIN_DEPOSIT)  # type: ignore[assignment]
    assert check_invariants(ctx, fresh) == []
    exported["proposals"][0]["vote_count"] = 2
    ctx = Context(store=MemStore(), block=BlockInfo("c", 1, 0), mode=ExecMode.GENESIS)
    with pytest.raises(ValueError, match="vote_count differs"):
        genesis.init_genesis(ctx, fresh, exported)


def test_hostile_proposal_contents_are_refused_with_codes(tmp_path):
    chain = gov_chain(tmp_path)
    garbage = update_params_msg("agreement", _audit_change().params)
    garbage.params.value = b"\xff\xff\xff"  # not an agreement Params
    assert (run(chain, USER, submit_msg(USER, garbage)).code) == 20
    broken = submit_msg(USER, _audit_change())
    broken.messages[0].value = b"\x0a\xff"  # truncated MsgUpdateParams
    assert run(chain, USER, broken).code == 5
    unknown = submit_msg(USER)
    unknown.messages.append(any_pb2.Any(type_url="/nope.Msg", value=b""))
    assert run(chain, USER, unknown).code == 5
    bad_authority = update_params_msg("agreement", _audit_change().params, authority="infera1x")
    assert run(chain, USER, submit_msg(USER, bad_authority)).codespace == "sdk"
    assert GOV.startswith("infera1")


def test_invariants_catch_a_deposit_the_records_do_not_explain(tmp_path):
    from chain.store import CacheStore
    from chain.tx import Coin
    from modules.gov.invariants import check_invariants
    from tests.harness import DENOM

    chain = gov_chain(tmp_path)
    assert run(chain, USER, submit_msg(USER, _audit_change())).code == 0
    ctx = query_ctx(chain)
    gov = keeper(chain, "gov")
    assert check_invariants(ctx, gov) == []
    ctx.store = CacheStore(chain.store.latest())
    keeper(chain, "bank").mint_coins(ctx, crypto.module_address("gov"), [Coin(DENOM, 1)])
    proposal = gov.get_proposal(ctx, 1)
    proposal.depositor_count = 5
    gov.set_proposal(ctx, proposal)
    broken = check_invariants(ctx, gov)
    assert len(broken) == 2 and "gov account holds" in broken[1], broken
