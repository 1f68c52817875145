"""F1 fee distribution (Ojha, "F1 Fee Distribution", as in Cosmos x/distribution), per share.

Each validator has an open period accruing its delegators' rewards. Ending a period adds
rewards / shares to a cumulative ratio stored for that period. A delegation remembers the period
ended just before its shares last changed; its rewards are shares x (ratio now - ratio then).
Nothing loops over delegators per block: a period ends only when some delegation of the
validator changes or withdraws. Slashes lower tokens, never shares, so per-share accounting
needs no slash events (every share of a validator earns the same, slashed or not).
"""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from chain.tx import Coin
from infera.distribution.v1 import types_pb2
from modules.distribution import events, keys, logic
from modules.distribution.keeper import DistributionKeeper


def initialize_validator(ctx: Context, keeper: DistributionKeeper, operator: bytes) -> None:
    """Period 0 ends at ratio 0 (referenced by the open period 1)."""
    if keeper.get_current(ctx, operator) is not None:
        return
    zero = types_pb2.ValidatorHistoricalRewards(cumulative_ratio="0", reference_count=1)
    keeper.set_historical(ctx, operator, 0, zero)
    keeper.set_current(ctx, operator, types_pb2.ValidatorCurrentRewards(period=1, rewards="0"))


def add_rewards(ctx: Context, keeper: DistributionKeeper, operator: bytes, amount: int) -> int:
    """Credit ``amount`` (already in the distribution account) to a validator: its commission
    to the operator's account of commission, the rest to the open period. Returns the commission."""
    validator = keeper.staking.get_validator(ctx, operator)
    if validator is None:
        return 0
    current = _open_period(ctx, keeper, operator)
    commission = logic.compute_commission(amount, validator.commission.rate or "0")
    keeper.set_commission(ctx, operator, keeper.get_commission(ctx, operator) + commission)
    current.rewards = str(int(current.rewards) + amount - commission)
    keeper.set_current(ctx, operator, current)
    keeper.set_outstanding(ctx, operator, keeper.get_outstanding(ctx, operator) + amount)
    return commission


def increment_period(ctx: Context, keeper: DistributionKeeper, operator: bytes) -> int:
    """End the open period; returns the period ended. With no shares the period's rewards
    have no owner: they go to the community pool."""
    current = _open_period(ctx, keeper, operator)
    validator = keeper.staking.get_validator(ctx, operator)
    shares = int(validator.delegator_shares or "0") if validator is not None else 0
    rewards, increment, carry = int(current.rewards), 0, 0
    if shares == 0 and rewards > 0:
        keeper.set_community_pool(ctx, keeper.get_community_pool(ctx) + rewards)
        keeper.set_outstanding(ctx, operator, keeper.get_outstanding(ctx, operator) - rewards)
    elif shares > 0:
        increment, carry = logic.compute_ratio_increment(rewards, shares)
    ended = current.period
    previous = keeper.get_historical(ctx, operator, ended - 1)
    ratio = int(previous.cumulative_ratio) + increment
    _release(ctx, keeper, operator, ended - 1)
    keeper.set_historical(
        ctx,
        operator,
        ended,
        types_pb2.ValidatorHistoricalRewards(cumulative_ratio=str(ratio), reference_count=1),
    )
    current.period, current.rewards = ended + 1, str(carry)
    keeper.set_current(ctx, operator, current)
    return ended


def start_delegation(
    ctx: Context, keeper: DistributionKeeper, operator: bytes, delegator: bytes
) -> None:
    """(Re)start a delegation's accounting at the period ended last, with its shares now."""
    delegation = keeper.staking.get_delegation(ctx, delegator, operator)
    if delegation is None:
        return
    current = _open_period(ctx, keeper, operator)
    previous = current.period - 1
    historical = keeper.get_historical(ctx, operator, previous)
    historical.reference_count += 1
    keeper.set_historical(ctx, operator, previous, historical)
    info = types_pb2.DelegatorStartingInfo(
        previous_period=previous, shares=delegation.shares, height=ctx.block.height
    )
    keeper.set_starting(ctx, operator, delegator, info)


def withdraw_delegation(
    ctx: Context, keeper: DistributionKeeper, operator: bytes, delegator: bytes
) -> int:
    """End the open period, pay the delegation its rewards since its start and forget the
    start (the caller restarts it). Returns the amount paid."""
    ended = increment_period(ctx, keeper, operator)
    info = keeper.get_starting(ctx, operator, delegator)
    if info is None:
        return 0
    end_ratio = int(keeper.get_historical(ctx, operator, ended).cumulative_ratio)
    start_ratio = int(keeper.get_historical(ctx, operator, info.previous_period).cumulative_ratio)
    reward = logic.compute_reward(int(info.shares), start_ratio, end_ratio)
    outstanding = keeper.get_outstanding(ctx, operator)
    reward = min(reward, outstanding)  # never pay what is not there (cannot happen: floors)
    _release(ctx, keeper, operator, info.previous_period)
    keeper.set_starting(ctx, operator, delegator, None)
    if reward > 0:
        keeper.set_outstanding(ctx, operator, outstanding - reward)
        _pay(ctx, keeper, delegator, reward)
    ctx.events.emit(  # also when staking settles a delegation before changing its shares
        events.WITHDRAW_REWARDS,
        attr("delegator", crypto.to_bech32(delegator), index=True),
        attr("validator", crypto.to_bech32(operator), index=True),
        attr("amount", reward),
    )
    return reward


def withdraw_commission(ctx: Context, keeper: DistributionKeeper, operator: bytes) -> int:
    amount = keeper.get_commission(ctx, operator)
    if amount > 0:
        keeper.set_commission(ctx, operator, 0)
        keeper.set_outstanding(ctx, operator, keeper.get_outstanding(ctx, operator) - amount)
        _pay(ctx, keeper, operator, amount)
    return amount


def compute_pending(
    ctx: Context, keeper: DistributionKeeper, operator: bytes, delegator: bytes
) -> int:
    """What ``withdraw_delegation`` would pay now, without writing anything (queries,
    invariants)."""
    info = keeper.get_starting(ctx, operator, delegator)
    current = keeper.get_current(ctx, operator)
    validator = keeper.staking.get_validator(ctx, operator)
    if info is None or current is None or validator is None:
        return 0
    shares = int(validator.delegator_shares or "0")
    last = int(keeper.get_historical(ctx, operator, current.period - 1).cumulative_ratio)
    increment = logic.compute_ratio_increment(int(current.rewards), shares)[0] if shares else 0
    start = int(keeper.get_historical(ctx, operator, info.previous_period).cumulative_ratio)
    return logic.compute_reward(int(info.shares), start, last + increment)


def _open_period(
    ctx: Context, keeper: DistributionKeeper, operator: bytes
) -> types_pb2.ValidatorCurrentRewards:
    initialize_validator(ctx, keeper, operator)
    current = keeper.get_current(ctx, operator)
    if current is None:
        raise RuntimeError("distribution: open period missing after initialization")
    return current


def _release(ctx: Context, keeper: DistributionKeeper, operator: bytes, period: int) -> None:
    historical = keeper.get_historical(ctx, operator, period)
    historical.reference_count -= 1
    keeper.set_historical(ctx, operator, period, historical)


def _pay(ctx: Context, keeper: DistributionKeeper, recipient: bytes, amount: int) -> None:
    denom = keeper.get_params(ctx).denom
    keeper.bank.send_coins_from_module(
        ctx, keys.DISTRIBUTION_ACCOUNT, recipient, [Coin(denom, amount)]
    )


def account_address() -> bytes:
    return crypto.module_address(keys.DISTRIBUTION_ACCOUNT)


def collector_address() -> bytes:
    return crypto.module_address("fee_collector")
