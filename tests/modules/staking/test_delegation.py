"""Delegation, undelegation (unbonding), redelegation and validator edits (issue 21 item 1),
driven through the real app block by block, with the attack cases as tests."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain.context import BlockInfo, Context, ExecMode
from chain.store import MemStore
from infera.staking.v1 import tx_pb2
from modules.staking import errors, logic
from modules.staking.keeper import StakingKeeper
from modules.staking.params import default_params
from tests.harness import (
    INITIAL_BALANCE,
    VALIDATOR_BOND,
    Key,
    TestChain,
    genesis_app_state,
    init_chain_request,
)
from tests.modules.staking.helpers import (
    ctx_of,
    delegate,
    delegation_tokens,
    pool,
    redelegate,
    run,
    undelegate,
    validator,
)

UNBONDING_S = 10  # blocks are 1 s apart in the harness
FEE = 10_000


def make_chain(tmp_path, n_validators: int = 2, **params) -> TestChain:
    chain_ = TestChain(tmp_path, validators=[Key(f"val{i}") for i in range(n_validators)])
    state = genesis_app_state(chain_.keys + chain_.validators, chain_.validators)
    staking_params = default_params()
    staking_params.unbonding_time_ns = UNBONDING_S * 10**9
    for name, value in params.items():
        setattr(staking_params, name, value)
    from google.protobuf import json_format

    state["staking"]["params"] = json_format.MessageToDict(
        staking_params, preserving_proto_field_name=True
    )
    chain_.app.init_chain(init_chain_request(state))
    chain_.block()  # commits genesis
    return chain_


@pytest.fixture
def chain_(tmp_path):
    c = make_chain(tmp_path)
    yield c
    c.store.close()


def test_delegate_issues_shares_and_adds_power(chain_):
    alice, val0 = chain_.keys[0], chain_.validators[0]
    result = delegate(chain_, alice, val0, 3 * 10**6)
    assert result.code == 0, result.log
    v = validator(chain_, val0)
    assert int(v.tokens) == VALIDATOR_BOND + 3 * 10**6
    assert int(v.delegator_shares) == int(v.tokens) * logic.SHARES_PER_TOKEN
    assert delegation_tokens(chain_, alice, val0) == 3 * 10**6
    assert chain_.balance(alice.address) == INITIAL_BALANCE - 3 * 10**6 - FEE
    assert chain_.balance(pool("bonded_tokens_pool")) == 2 * VALIDATOR_BOND + 3 * 10**6
    ctx = ctx_of(chain_)
    keeper = chain_.app.modules[2].keeper
    assert list(keeper.iterate_delegations_of(ctx, alice.address)) == [(val0.address, 3 * 10**6)]
    powers = {op: power for op, _, power in keeper.iterate_bonded_validators(ctx)}
    assert powers[val0.address] == (VALIDATOR_BOND + 3 * 10**6) // 10**6


def test_delegate_rejects_wrong_denom_unknown_validator_and_jailed_validator(chain_):
    alice, val0 = chain_.keys[0], chain_.validators[0]
    bad_denom = tx_pb2.MsgDelegate(
        delegator_address=alice.bech32,
        validator_address=val0.bech32,
        amount={"denom": "uother", "amount": "5"},
    )
    assert run(chain_, alice, bad_denom).code == errors.ErrWrongBondDenom.code
    assert delegate(chain_, alice, chain_.keys[1], 5).code == errors.ErrValidatorNotFound.code
    # jail val0 by self-undelegating below min_self_bond
    assert undelegate(chain_, val0, val0, VALIDATOR_BOND - 10).code == 0
    assert validator(chain_, val0).jailed
    before = chain_.balance(alice.address)
    assert delegate(chain_, alice, val0, 5).code == errors.ErrValidatorJailed.code
    assert chain_.balance(alice.address) == before - FEE  # only the fee: no trace of the msg


def test_undelegate_more_than_owned_is_refused(chain_):
    alice, bob, val0 = chain_.keys[0], chain_.keys[1], chain_.validators[0]
    assert delegate(chain_, alice, val0, 1000).code == 0
    assert undelegate(chain_, alice, val0, 1001).code == errors.ErrInsufficientShares.code
    assert undelegate(chain_, bob, val0, 1).code == errors.ErrNoDelegation.code
    assert delegation_tokens(chain_, alice, val0) == 1000


def test_undelegate_unbonds_then_returns_funds_after_the_unbonding_time(chain_):
    alice, val0 = chain_.keys[0], chain_.validators[0]
    assert delegate(chain_, alice, val0, 5000).code == 0
    start = chain_.balance(alice.address)
    result = undelegate(chain_, alice, val0, 2000)
    assert result.code == 0, result.log
    response = tx_pb2.MsgUndelegateResponse()
    from cosmos.base.abci.v1beta1 import abci_pb2

    response.ParseFromString(abci_pb2.TxMsgData.FromString(result.data).msg_responses[0].value)
    assert response.amount == "2000"
    assert chain_.balance(pool("staking_unbonding_pool")) == 2000
    assert delegation_tokens(chain_, alice, val0) == 3000
    for _ in range(UNBONDING_S - 1):
        chain_.block()
    assert chain_.balance(alice.address) == start - FEE  # not yet
    chain_.block()
    assert chain_.balance(alice.address) == start - FEE + 2000
    assert chain_.balance(pool("staking_unbonding_pool")) == 0


def test_unbonding_entries_are_capped_per_pair(tmp_path):
    chain_ = make_chain(tmp_path, max_entries=2)
    alice, val0 = chain_.keys[0], chain_.validators[0]
    assert delegate(chain_, alice, val0, 100).code == 0
    assert undelegate(chain_, alice, val0, 1).code == 0
    assert undelegate(chain_, alice, val0, 1).code == 0
    assert undelegate(chain_, alice, val0, 1).code == errors.ErrMaxEntries.code
    chain_.store.close()


def test_full_undelegation_removes_the_delegation(chain_):
    alice, val0 = chain_.keys[0], chain_.validators[0]
    assert delegate(chain_, alice, val0, 777).code == 0
    assert undelegate(chain_, alice, val0, 777).code == 0
    assert delegation_tokens(chain_, alice, val0) == 0
    v = validator(chain_, val0)
    assert int(v.tokens) == VALIDATOR_BOND
    assert int(v.delegator_shares) == VALIDATOR_BOND * logic.SHARES_PER_TOKEN


def test_redelegate_moves_stake_at_once_and_forbids_hopping(chain_):
    alice, val0, val1 = chain_.keys[0], chain_.validators[0], chain_.validators[1]
    assert delegate(chain_, alice, val0, 1000).code == 0
    assert redelegate(chain_, alice, val0, val1, 600).code == 0
    assert delegation_tokens(chain_, alice, val0) == 400
    assert delegation_tokens(chain_, alice, val1) == 600
    # hopping on from val1 while the val0 -> val1 entry runs would escape val0's slashes
    third = Key("val2")
    hop = redelegate(chain_, alice, val1, val0, 100)
    assert hop.code == errors.ErrTransitiveRedelegation.code
    assert redelegate(chain_, alice, val0, val0, 1).code == errors.ErrSelfRedelegation.code
    assert redelegate(chain_, alice, val0, third, 1).code == errors.ErrValidatorNotFound.code
    for _ in range(UNBONDING_S):
        chain_.block()
    assert redelegate(chain_, alice, val1, val0, 100).code == 0  # matured: allowed again


def test_slash_hits_delegators_pro_rata_and_reaches_unbonding_started_after(chain_):
    alice, bob, val0 = chain_.keys[0], chain_.keys[1], chain_.validators[0]
    assert delegate(chain_, alice, val0, 10**6).code == 0
    assert delegate(chain_, bob, val0, 10**6).code == 0
    assert undelegate(chain_, bob, val0, 10**6).code == 0  # height 3: slashable from 3 on
    misbehavior = _double_sign(chain_, val0, height=chain_.height)
    chain_.block(misbehavior=[misbehavior])
    v = validator(chain_, val0)
    assert v.jailed and v.tombstoned
    assert int(v.tokens) == (VALIDATOR_BOND + 10**6) * 95 // 100
    assert delegation_tokens(chain_, alice, val0) == 950_000
    assert chain_.balance(pool("staking_unbonding_pool")) == 950_000  # bob's entry cut 5 %


def test_redelegating_away_does_not_dodge_the_source_slash(chain_):
    alice, val0, val1 = chain_.keys[0], chain_.validators[0], chain_.validators[1]
    assert delegate(chain_, alice, val0, 10**6).code == 0
    infraction = chain_.height
    assert redelegate(chain_, alice, val0, val1, 10**6).code == 0
    assert undelegate(chain_, alice, val1, 400_000).code == 0  # and try to walk away
    chain_.block(misbehavior=[_double_sign(chain_, val0, height=infraction)])
    # 5 % of the 10^6 redelegated: 50,000, taken from the stake still at val1
    assert delegation_tokens(chain_, alice, val1) == 600_000 - 50_000
    assert int(validator(chain_, val1).tokens) == VALIDATOR_BOND + 550_000


def test_commission_edits_are_bounded_and_once_per_day(chain_):
    val0 = chain_.validators[0]

    def edit(rate: str):
        msg = tx_pb2.MsgEditValidator(operator_address=val0.bech32, commission_rate=rate)
        return run(chain_, val0, msg)

    assert edit("0.105").code == 0  # a genesis validator's commission never changed
    assert edit("0.11").code == errors.ErrCommissionChange.code  # again within 24 h
    chain_.height += 86_400  # the harness's block time is GENESIS_TIME + height
    assert edit("0.5").code == errors.ErrCommissionChange.code  # above max rate 0.2
    assert edit("0.12").code == errors.ErrCommissionChange.code  # moves 0.015 > 0.01
    assert edit("1.5").code == errors.ErrInvalidCommission.code
    assert edit("0.115").code == 0
    assert validator(chain_, val0).commission.rate == "0.115"


def test_create_validator_with_commission_then_delegate(chain_):
    from tests.harness import validator_pubkey

    carol = chain_.keys[2]
    msg = tx_pb2.MsgCreateValidator(
        operator_address=carol.bech32,
        consensus_pubkey=validator_pubkey("carol"),
        self_bond={"denom": "uinfera", "amount": str(2 * 10**6)},
        moniker="carol",
        commission_rate="0.3",
        commission_max_rate="0.2",
        commission_max_change_rate="0.01",
    )
    assert run(chain_, carol, msg).code == errors.ErrInvalidCommission.code
    msg.commission_rate = "0.05"
    assert run(chain_, carol, msg).code == 0
    assert delegation_tokens(chain_, carol, carol) == 2 * 10**6
    assert delegate(chain_, chain_.keys[0], carol, 10).code == 0


def test_shares_math_rounds_against_the_one_acting():
    # after a slash: 95 tokens for 100 * 10^6 shares
    tokens, shares = 95, 100 * logic.SHARES_PER_TOKEN
    issued = logic.compute_shares_for_tokens(7, tokens, shares)
    assert issued == 7 * shares // tokens  # floor
    burnt = logic.compute_shares_to_unbond(7, tokens, shares)
    assert burnt == issued + 1  # ceil: leaving with 7 costs at least the shares 7 bought
    assert logic.compute_tokens_for_shares(issued, tokens + 7, shares + issued) <= 7
    assert logic.compute_shares_for_tokens(5, 0, shares) == 0  # fully slashed: refused


def test_version_2_store_migrates_to_shares_and_self_delegations():
    from modules.staking import keys, migrations
    from modules.staking.params import fill_defaults

    ctx = Context(store=MemStore(), block=BlockInfo("c", 2, 0), mode=ExecMode.FINALIZE)
    keeper = StakingKeeper(bank=None)  # type: ignore[arg-type]
    old_params = default_params()
    old_params.unbonding_time_ns, old_params.max_entries = 0, 0
    keeper.set_params(ctx, old_params)
    from infera.staking.v1 import types_pb2

    op, jailed_op = b"\x01" * 20, b"\x02" * 20
    keeper.set_validator(ctx, op, types_pb2.Validator(operator_address="a", tokens="5"))
    keeper.set_validator(ctx, jailed_op, types_pb2.Validator(tokens="3", jailed=True))
    migrations.set_version(ctx, 2)
    assert migrations.run_pending(ctx, keeper) == [2]
    v = keeper.get_validator(ctx, op)
    assert v is not None and v.delegator_shares == str(5 * logic.SHARES_PER_TOKEN)
    assert v.commission.max_rate == "0.2" and not v.tombstoned
    jailed = keeper.get_validator(ctx, jailed_op)
    assert jailed is not None and jailed.tombstoned  # version 2 jailed only double-signers
    assert list(keeper.iterate_delegations_of(ctx, op)) == [(op, 5)]
    assert keeper.get_params(ctx) == fill_defaults(default_params())
    assert ctx.store.get(keys.VERSION) == b"3"


def _double_sign(chain_: TestChain, val: Key, height: int):
    from chain import crypto
    from tendermint.abci import types_pb2 as abci
    from tests.harness import validator_pubkey

    evidence = abci.Misbehavior(type=abci.DUPLICATE_VOTE, height=height)
    evidence.validator.address = crypto.consensus_address(validator_pubkey(val.name))
    evidence.validator.power = VALIDATOR_BOND // 10**6
    return evidence


def test_governance_may_change_unbonding_time_but_not_the_bond_denom(chain_):
    gov = next(m for m in chain_.app.modules if m.name == "gov").keeper
    target, ctx = gov.params_targets["staking"], ctx_of(chain_)
    longer = target.get(ctx)
    longer.unbonding_time_ns *= 2
    target.validate(ctx, longer)  # accepted
    for field, value in (("bond_denom", "uother"), ("power_reduction", 7), ("max_entries", 0)):
        changed = target.get(ctx)
        setattr(changed, field, value)
        with pytest.raises(ValueError):
            target.validate(ctx, changed)
    tax = gov.params_targets["distribution"].get(ctx)
    tax.community_tax = "1.5"
    with pytest.raises(ValueError):
        gov.params_targets["distribution"].validate(ctx, tax)
