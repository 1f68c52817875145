"""Fee distribution (issue 21 item 1): each block's fees to the validators that signed the last
commit, commission to operators, the rest to delegators by F1 (lazy, per share); withdrawals,
rounding to the community pool, invariants, and the reward-theft / commission-spike attacks."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain.context import BlockInfo, Context, ExecMode
from infera.distribution.v1 import query_pb2, tx_pb2
from infera.staking.v1 import tx_pb2 as staking_tx
from modules.distribution import genesis as distribution_genesis
from modules.distribution import invariants, keys, logic
from tendermint.abci import types_pb2 as abci
from tendermint.types import validator_pb2
from tests.harness import CHAIN_ID, VALIDATOR_BOND, TestChain, send_msg
from tests.modules.staking.helpers import ctx_of, delegate, pool, redelegate, run, undelegate
from tests.modules.staking.test_delegation import make_chain

FEE = 10_000
SVC = "/infera.distribution.v1.Query/"


@pytest.fixture
def chain_(tmp_path):
    c = make_chain(tmp_path)
    yield c
    c.store.close()


def _keeper(chain_: TestChain):
    return next(m for m in chain_.app.modules if m.name == "distribution").keeper


def _query(chain_: TestChain, method: str, request, cls) -> int:
    res = chain_.query(SVC + method, request)
    assert res.code == 0, res.log
    return int(cls.FromString(res.value).amount)


def pending(chain_: TestChain, who, val) -> int:
    req = query_pb2.QueryDelegationRewardsRequest(
        delegator_address=who.bech32, validator_address=val.bech32
    )
    return _query(chain_, "DelegationRewards", req, query_pb2.QueryDelegationRewardsResponse)


def commission(chain_: TestChain, val) -> int:
    req = query_pb2.QueryValidatorCommissionRequest(validator_address=val.bech32)
    return _query(chain_, "ValidatorCommission", req, query_pb2.QueryValidatorCommissionResponse)


def community(chain_: TestChain) -> int:
    req = query_pb2.QueryCommunityPoolRequest()
    return _query(chain_, "CommunityPool", req, query_pb2.QueryCommunityPoolResponse)


def withdraw(chain_: TestChain, who, val) -> int:
    msg = tx_pb2.MsgWithdrawDelegatorReward(
        delegator_address=who.bech32, validator_address=val.bech32
    )
    result = run(chain_, who, msg)
    assert result.code == 0, result.log
    from cosmos.base.abci.v1beta1 import abci_pb2

    any_ = abci_pb2.TxMsgData.FromString(result.data).msg_responses[0]
    return int(tx_pb2.MsgWithdrawDelegatorRewardResponse.FromString(any_.value).amount)


def assert_invariants(chain_: TestChain) -> None:
    from modules.staking import invariants as staking_invariants

    ctx = ctx_of(chain_)
    assert invariants.check_invariants(ctx, _keeper(chain_)) == []
    staking = next(m for m in chain_.app.modules if m.name == "staking").keeper
    assert staking_invariants.check_invariants(ctx, staking) == []
    assert chain_.supply() == sum(chain_.balance(a) for a in _holders(chain_))


def test_fees_go_to_signers_by_power_with_commission_and_tax(chain_):
    val0, val1 = chain_.validators
    user = chain_.keys[0]
    chain_.block([chain_.tx(user, send_msg(user, chain_.keys[1].address, 1))])
    assert chain_.balance(pool("fee_collector")) == FEE  # collected in this block ...
    chain_.block()  # ... allocated at the start of the next
    assert chain_.balance(pool("fee_collector")) == 0
    # tax floor(10000 x 0.02) = 200; 9800 by equal power: 4900 each; commission 10 %: 490
    assert community(chain_) == 200
    assert commission(chain_, val0) == commission(chain_, val1) == 490
    assert pending(chain_, val0, val0) == pending(chain_, val1, val1) == 4410
    assert chain_.balance(pool(keys.DISTRIBUTION_ACCOUNT)) == FEE
    assert_invariants(chain_)


def test_withdraw_pays_the_delegator_and_the_commission(chain_):
    val0 = chain_.validators[0]
    user = chain_.keys[0]
    chain_.block([chain_.tx(user, send_msg(user, chain_.keys[1].address, 1))])
    chain_.block()
    before = chain_.balance(val0.address)
    assert withdraw(chain_, val0, val0) == 4410
    assert chain_.balance(val0.address) == before - FEE + 4410
    msg = tx_pb2.MsgWithdrawValidatorCommission(validator_address=val0.bech32)
    assert run(chain_, val0, msg).code == 0
    # the first withdraw's fee was allocated at the start of the second's block: 490 + 490
    assert chain_.balance(val0.address) == before - 2 * FEE + 4410 + 980
    assert commission(chain_, val0) == 0  # the second's own fee is allocated next block
    assert pending(chain_, val0, val0) == 4410
    assert_invariants(chain_)


def test_validators_that_did_not_sign_get_nothing(chain_):
    val0, val1 = chain_.validators
    user = chain_.keys[0]
    chain_.block([chain_.tx(user, send_msg(user, chain_.keys[1].address, 1))])
    commit = chain_.last_commit(chain_.height)
    for vote in commit.votes:  # val1 is absent from the commit that decides the allocation
        if vote.validator.address == _consensus(val1):
            vote.block_id_flag = validator_pb2.BLOCK_ID_FLAG_ABSENT
    chain_.block(last_commit=commit)
    assert commission(chain_, val1) == 0 and pending(chain_, val1, val1) == 0
    assert commission(chain_, val0) == 980 and pending(chain_, val0, val0) == 8820
    assert_invariants(chain_)


def test_delegators_share_pro_rata_from_when_they_joined(chain_):
    val0 = chain_.validators[0]
    alice, bob = chain_.keys[0], chain_.keys[1]
    assert delegate(chain_, alice, val0, VALIDATOR_BOND).code == 0  # half of val0's stake
    chain_.block()  # allocates the delegate tx's fee; alice holds half the shares already
    # 4410 to val0's delegators (its operator and alice) in halves
    assert pending(chain_, alice, val0) == 2205
    assert pending(chain_, val0, val0) == 2205
    assert withdraw(chain_, alice, val0) == 2205
    assert pending(chain_, bob, val0) == 0
    assert_invariants(chain_)


def test_delegating_right_before_a_withdrawal_earns_nothing_of_the_past(chain_):
    val0 = chain_.validators[0]
    thief, user = chain_.keys[0], chain_.keys[1]
    for _ in range(3):  # rewards pile up in val0's open period
        chain_.block([chain_.tx(user, send_msg(user, chain_.keys[2].address, 1))])
    owed_to_operator = pending(chain_, val0, val0)
    assert owed_to_operator > 0
    # a delegation as large as val0's whole stake, in the same block as the withdrawal
    big = 1000 * VALIDATOR_BOND
    raw_delegate = chain_.tx(
        thief,
        staking_tx.MsgDelegate(
            delegator_address=thief.bech32,
            validator_address=val0.bech32,
            amount={"denom": "uinfera", "amount": str(big // 1000)},
        ),
    )
    raw_withdraw = chain_.tx(
        thief,
        tx_pb2.MsgWithdrawDelegatorReward(
            delegator_address=thief.bech32, validator_address=val0.bech32
        ),
    )
    result = chain_.block([raw_delegate, raw_withdraw]).tx_results
    assert result[0].code == 0 and result[1].code == 0
    from cosmos.base.abci.v1beta1 import abci_pb2

    paid = tx_pb2.MsgWithdrawDelegatorRewardResponse.FromString(
        abci_pb2.TxMsgData.FromString(result[1].data).msg_responses[0].value
    )
    assert paid.amount == "0"
    assert pending(chain_, val0, val0) >= owed_to_operator  # the operator keeps its share
    assert_invariants(chain_)


def test_commission_spike_is_capped_by_max_change_rate(chain_):
    val0 = chain_.validators[0]
    user = chain_.keys[0]
    edit = staking_tx.MsgEditValidator(operator_address=val0.bech32, commission_rate="0.2")
    assert run(chain_, val0, edit).code != 0  # 0.1 -> 0.2 in one step: refused
    edit.commission_rate = "0.11"
    assert run(chain_, val0, edit).code == 0
    before = commission(chain_, val0)
    chain_.block([chain_.tx(user, send_msg(user, chain_.keys[1].address, 1))])
    chain_.block()
    # two fees allocated since (the edit's and the send's), each at the new 11 %
    assert commission(chain_, val0) - before == 2 * logic.compute_commission(4900, "0.11")
    assert logic.compute_commission(4900, "0.11") == 539


def test_rounding_remainders_go_to_the_community_pool():
    shares, community_part = logic.compute_allocation(10, [(b"a", 1), (b"b", 1), (b"c", 1)], "0.02")
    assert shares == [(b"a", 3), (b"b", 3), (b"c", 3)]
    assert community_part == 1  # tax floor(0.2) = 0, remainder 10 - 9
    assert logic.compute_allocation(7, [], "0.02") == ([], 7)  # nobody signed
    increment, carry = logic.compute_ratio_increment(10, 3 * keys.RATIO_PRECISION)
    assert increment == 3 and carry == 1  # 10 / (3 x 10^30) per share: floor 3, carry 1
    assert logic.compute_reward(keys.RATIO_PRECISION, 0, increment) == 3


def test_invariants_hold_through_delegate_redelegate_undelegate_slash(chain_):
    val0, val1 = chain_.validators
    alice, bob = chain_.keys[0], chain_.keys[1]
    assert delegate(chain_, alice, val0, 3 * 10**6).code == 0
    assert delegate(chain_, bob, val1, 5 * 10**6).code == 0
    assert redelegate(chain_, alice, val0, val1, 10**6).code == 0
    assert undelegate(chain_, bob, val1, 2 * 10**6).code == 0
    assert_invariants(chain_)
    from tests.modules.staking.test_delegation import _double_sign

    chain_.block(misbehavior=[_double_sign(chain_, val1, height=chain_.height - 2)])
    assert_invariants(chain_)
    for who, val in ((alice, val0), (alice, val1), (bob, val1), (val0, val0), (val1, val1)):
        withdraw(chain_, who, val)
        assert_invariants(chain_)
    assert pending(chain_, alice, val1) > 0  # fees kept coming in while withdrawing


def test_a_chain_without_distribution_state_starts_accounting_once(chain_):
    store = chain_.store
    # forget the module's state, as on a store written before it existed
    ctx = Context(store=store.latest(), block=BlockInfo(CHAIN_ID, 1, 0), mode=ExecMode.QUERY)
    keeper = _keeper(chain_)
    from chain.store import MemStore, prefix_end

    mem = MemStore()
    for key, value in ctx.store.iterate(b"", prefix_end(b"\xff")):
        if not key.startswith(b"distribution/"):
            mem.set(key, value)
    fresh = Context(store=mem, block=BlockInfo(CHAIN_ID, 5, 0), mode=ExecMode.FINALIZE)
    assert distribution_genesis.run_pending(fresh, keeper)
    assert not distribution_genesis.run_pending(fresh, keeper)
    val0 = chain_.validators[0]
    assert keeper.get_starting(fresh, val0.address, val0.address) is not None


def _holders(chain_: TestChain) -> list[bytes]:
    accounts = [k.address for k in chain_.keys + chain_.validators]
    modules = ("fee_collector", "bonded_tokens_pool", "staking_unbonding_pool", "distribution")
    return accounts + [pool(m) for m in modules]


def _consensus(val) -> bytes:
    from chain import crypto
    from tests.harness import validator_pubkey

    return crypto.consensus_address(validator_pubkey(val.name))


_ = abci


def test_genesis_export_imports_back_to_the_same_records(chain_):
    from chain.store import MemStore
    from modules.distribution.keeper import DistributionKeeper

    val0, alice = chain_.validators[0], chain_.keys[0]
    assert delegate(chain_, alice, val0, 10**6).code == 0
    chain_.block([chain_.tx(alice, send_msg(alice, chain_.keys[1].address, 1))])
    chain_.block()
    keeper = _keeper(chain_)
    exported = distribution_genesis.export_genesis(ctx_of(chain_), keeper)
    assert exported["validators"] and exported["starting_infos"]

    class Bank:  # the distribution account holds what the exported state owes
        def get_balance(self, ctx, address, denom):
            return keeper.bank.get_balance(ctx_of(chain_), address, denom)

    fresh = DistributionKeeper(Bank(), keeper.staking)  # type: ignore[arg-type]
    ctx = Context(store=MemStore(), block=BlockInfo(CHAIN_ID, 1, 0), mode=ExecMode.GENESIS)
    staking_ctx_store = ctx_of(chain_).store
    fresh.staking = _StakingOver(keeper.staking, staking_ctx_store)
    distribution_genesis.init_genesis(ctx, fresh, exported)
    assert distribution_genesis.export_genesis(ctx, fresh) == exported
    assert not distribution_genesis.run_pending(ctx, fresh)  # a loaded state is not restarted


class _StakingOver:
    """The chain's staking keeper reading the chain's committed store (the fresh context
    holds only distribution records)."""

    def __init__(self, keeper, store):
        self.keeper, self.store = keeper, store

    def _ctx(self):
        return Context(store=self.store, block=BlockInfo(CHAIN_ID, 1, 0), mode=ExecMode.QUERY)

    def iterate_validators(self, ctx):
        return self.keeper.iterate_validators(self._ctx())

    def iterate_delegations(self, ctx, delegator=b""):
        return self.keeper.iterate_delegations(self._ctx(), delegator)
