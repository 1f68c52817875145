"""Delegation state transitions: bond, unbond, redelegate, mature, slash, jail.

Every change of a delegation's shares goes through ``bond_tokens`` / ``unbond_shares``, which
call the hooks (distribution settles rewards before, restarts after). Tokens live in module
accounts: bonded tokens (of every validator, jailed or not) in ``keys.BONDED_POOL``, tokens being
unbonded in ``keys.UNBONDING_POOL``; redelegated tokens stay bonded.
"""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from chain.tx import Coin
from infera.staking.v1 import types_pb2
from modules.staking import events, keys, logic
from modules.staking.errors import (
    ErrDelegationRefused,
    ErrInsufficientShares,
    ErrNoDelegation,
)
from modules.staking.keeper import StakingKeeper, tokens_of_shares


def bond_tokens(
    ctx: Context,
    keeper: StakingKeeper,
    delegator: bytes,
    operator: bytes,
    validator: types_pb2.Validator,
    amount: int,
    *,
    from_account: bool,
) -> int:
    """Add ``amount`` tokens to ``validator`` for ``delegator``; returns the shares issued.
    ``from_account``: the tokens come from the delegator's balance (else they are already in
    the bonded pool: a redelegation)."""
    shares = logic.compute_shares_for_tokens(
        amount, int(validator.tokens), int(validator.delegator_shares or "0")
    )
    if shares == 0:
        raise ErrDelegationRefused(validator.operator_address)
    if keeper.hooks is not None:
        keeper.hooks.before_delegation_modified(ctx, delegator, operator)
    if from_account:
        denom = keeper.get_params(ctx).bond_denom
        keeper.bank.send_coins_to_module(ctx, delegator, keys.BONDED_POOL, [Coin(denom, amount)])
    validator.tokens = str(int(validator.tokens) + amount)
    validator.delegator_shares = str(int(validator.delegator_shares or "0") + shares)
    keeper.set_validator(ctx, operator, validator)
    delegation = keeper.get_delegation(ctx, delegator, operator) or types_pb2.Delegation(
        delegator_address=crypto.to_bech32(delegator),
        validator_address=validator.operator_address,
        shares="0",
    )
    delegation.shares = str(int(delegation.shares) + shares)
    keeper.set_delegation(ctx, delegator, operator, delegation)
    if keeper.hooks is not None:
        keeper.hooks.after_delegation_modified(ctx, delegator, operator)
    return shares


def compute_unbond_shares(
    validator: types_pb2.Validator, delegation: types_pb2.Delegation | None, amount: int
) -> int:
    """Shares to remove for an undelegation of ``amount`` tokens (all the delegation's shares
    when ``amount`` is all it is worth). Raises when it is worth less than ``amount``."""
    if delegation is None:
        raise ErrNoDelegation(validator.operator_address)
    owned = int(delegation.shares)
    worth = tokens_of_shares(validator, owned)
    if amount > worth:
        raise ErrInsufficientShares(f"{amount} > {worth}")
    if amount == worth:
        return owned
    needed = logic.compute_shares_to_unbond(
        amount, int(validator.tokens), int(validator.delegator_shares)
    )
    return min(needed, owned)


def unbond_shares(
    ctx: Context, keeper: StakingKeeper, delegator: bytes, operator: bytes, shares: int
) -> int:
    """Remove ``shares`` of ``delegator``'s delegation from the validator; returns the tokens
    they were worth (still in the bonded pool: the caller moves or burns them). An operator whose
    self-delegation falls below ``min_self_bond`` is jailed."""
    validator = keeper.get_validator(ctx, operator)
    delegation = keeper.get_delegation(ctx, delegator, operator)
    if validator is None or delegation is None or int(delegation.shares) < shares:
        raise ErrInsufficientShares(f"{shares} shares")
    if keeper.hooks is not None:
        keeper.hooks.before_delegation_modified(ctx, delegator, operator)
    total_tokens, total_shares = int(validator.tokens), int(validator.delegator_shares)
    tokens = logic.compute_tokens_for_shares(shares, total_tokens, total_shares)
    delegation.shares = str(int(delegation.shares) - shares)
    keeper.set_delegation(ctx, delegator, operator, delegation)
    validator.tokens = str(total_tokens - tokens)
    validator.delegator_shares = str(total_shares - shares)
    if delegator == operator and not validator.jailed:
        remaining = tokens_of_shares(validator, int(delegation.shares))
        validator.jailed = remaining < int(keeper.get_params(ctx).min_self_bond)
    keeper.set_validator(ctx, operator, validator)
    if keeper.hooks is not None:
        keeper.hooks.after_delegation_modified(ctx, delegator, operator)
    return tokens


def add_unbonding_entry(
    ctx: Context, keeper: StakingKeeper, delegator: bytes, operator: bytes, tokens: int
) -> int:
    """Move ``tokens`` to the unbonding pool and queue their return; returns completion time."""
    params = keeper.get_params(ctx)
    completion = ctx.block.time_ns + params.unbonding_time_ns
    keeper.bank.send_coins_between_modules(
        ctx, keys.BONDED_POOL, keys.UNBONDING_POOL, [Coin(params.bond_denom, tokens)]
    )
    ubd = keeper.get_unbonding(ctx, delegator, operator) or types_pb2.UnbondingDelegation(
        delegator_address=crypto.to_bech32(delegator),
        validator_address=crypto.to_bech32(operator),
    )
    ubd.entries.add(
        creation_height=ctx.block.height,
        completion_time_ns=completion,
        initial_balance=str(tokens),
        balance=str(tokens),
    )
    keeper.set_unbonding(ctx, delegator, operator, ubd)
    keeper.enqueue(ctx, keys.UNBONDING_QUEUE, completion, delegator + operator)
    return completion


def complete_unbondings(ctx: Context, keeper: StakingKeeper) -> None:
    """Pay back every unbonding entry due at this block's time."""
    denom = keeper.get_params(ctx).bond_denom
    for pair in keeper.pop_mature(ctx, keys.UNBONDING_QUEUE, ctx.block.time_ns):
        delegator, operator = pair[: keys.ADDR], pair[keys.ADDR :]
        ubd = keeper.get_unbonding(ctx, delegator, operator)
        if ubd is None:
            continue
        due = [e for e in ubd.entries if e.completion_time_ns <= ctx.block.time_ns]
        kept = [e for e in ubd.entries if e.completion_time_ns > ctx.block.time_ns]
        amount = sum(int(e.balance) for e in due)
        if amount > 0:
            coins = [Coin(denom, amount)]
            keeper.bank.send_coins_from_module(ctx, keys.UNBONDING_POOL, delegator, coins)
        del ubd.entries[:]
        ubd.entries.extend(kept)
        keeper.set_unbonding(ctx, delegator, operator, ubd)
        ctx.events.emit(
            events.COMPLETE_UNBONDING,
            attr("delegator", ubd.delegator_address, index=True),
            attr("validator", ubd.validator_address),
            attr("amount", amount),
        )


def complete_redelegations(ctx: Context, keeper: StakingKeeper) -> None:
    """Drop every redelegation entry due at this block's time (the tokens are already at the
    destination; from now on the source's infractions no longer reach them)."""
    for triple in keeper.pop_mature(ctx, keys.REDELEGATION_QUEUE, ctx.block.time_ns):
        delegator, src, dst = triple[:20], triple[20:40], triple[40:]
        red = keeper.get_redelegation(ctx, delegator, src, dst)
        if red is None:
            continue
        kept = [e for e in red.entries if e.completion_time_ns > ctx.block.time_ns]
        del red.entries[:]
        red.entries.extend(kept)
        keeper.set_redelegation(ctx, delegator, src, dst, red)
        ctx.events.emit(
            events.COMPLETE_REDELEGATION,
            attr("delegator", red.delegator_address, index=True),
            attr("source", red.validator_src_address),
            attr("destination", red.validator_dst_address),
        )


def slash(
    ctx: Context, keeper: StakingKeeper, operator: bytes, infraction_height: int, fraction: str
) -> int:
    """Burn ``fraction`` of the validator's tokens, of each unbonding entry and of each
    redelegation out of it created at or after ``infraction_height`` (those tokens were bonded
    to it when it misbehaved); returns the total burned. Delegators lose pro rata: their shares
    stay, each share is worth less."""
    validator = keeper.get_validator(ctx, operator)
    if validator is None:
        return 0
    denom = keeper.get_params(ctx).bond_denom
    burned = _slash_unbondings(ctx, keeper, operator, infraction_height, fraction, denom)
    burned += _slash_redelegations(ctx, keeper, operator, infraction_height, fraction, denom)
    validator = keeper.get_validator(ctx, operator) or validator  # reload: entries touched it
    amount = logic.compute_slash_amount(int(validator.tokens), fraction)
    if amount > 0:
        keeper.bank.burn_coins(ctx, keys.BONDED_POOL, [Coin(denom, amount)])
    validator.tokens = str(int(validator.tokens) - amount)
    validator.slashed = str(int(validator.slashed or "0") + amount + burned)
    keeper.set_validator(ctx, operator, validator)
    return amount + burned


def _slash_unbondings(
    ctx: Context, keeper: StakingKeeper, operator: bytes, height: int, fraction: str, denom: str
) -> int:
    burned = 0
    for delegator in list(keeper.iterate_unbondings_from(ctx, operator)):
        ubd = keeper.get_unbonding(ctx, delegator, operator)
        if ubd is None:
            continue
        for entry in ubd.entries:
            if entry.creation_height < height:
                continue  # unbonding started before the infraction: not at stake then
            cut = min(
                logic.compute_slash_amount(int(entry.initial_balance), fraction), int(entry.balance)
            )
            entry.balance = str(int(entry.balance) - cut)
            burned += cut
        keeper.set_unbonding(ctx, delegator, operator, ubd)
    if burned > 0:
        keeper.bank.burn_coins(ctx, keys.UNBONDING_POOL, [Coin(denom, burned)])
    return burned


def _slash_redelegations(
    ctx: Context, keeper: StakingKeeper, src: bytes, height: int, fraction: str, denom: str
) -> int:
    """Redelegated tokens are slashed where they are now: shares of the destination are
    removed from the delegator's delegation there and their tokens burned; what it no longer
    holds there is taken from its unbonding entries out of the destination started since."""
    burned = 0
    for delegator, dst in list(keeper.iterate_redelegations_from(ctx, src)):
        red = keeper.get_redelegation(ctx, delegator, src, dst)
        if red is None:
            continue
        for entry in red.entries:
            if entry.creation_height < height:
                continue
            amount = logic.compute_slash_amount(int(entry.initial_balance), fraction)
            taken = _slash_destination_shares(ctx, keeper, delegator, dst, entry, amount)
            if taken > 0:
                keeper.bank.burn_coins(ctx, keys.BONDED_POOL, [Coin(denom, taken)])
            rest = _slash_later_unbondings(
                ctx, keeper, delegator, dst, entry.creation_height, amount - taken
            )
            if rest > 0:
                keeper.bank.burn_coins(ctx, keys.UNBONDING_POOL, [Coin(denom, rest)])
            burned += taken + rest
        keeper.set_redelegation(ctx, delegator, src, dst, red)
    return burned


def _slash_destination_shares(
    ctx: Context,
    keeper: StakingKeeper,
    delegator: bytes,
    dst: bytes,
    entry: types_pb2.RedelegationEntry,
    amount: int,
) -> int:
    """Unbond up to ``amount`` tokens' worth of the entry's shares at ``dst``; returns the
    tokens (still in the bonded pool, for the caller to burn)."""
    validator = keeper.get_validator(ctx, dst)
    delegation = keeper.get_delegation(ctx, delegator, dst)
    if validator is None or delegation is None or int(validator.tokens) == 0 or amount == 0:
        return 0
    shares = logic.compute_shares_to_unbond(
        amount, int(validator.tokens), int(validator.delegator_shares)
    )
    shares = min(shares, int(entry.shares_dst), int(delegation.shares))
    if shares == 0:
        return 0
    entry.shares_dst = str(int(entry.shares_dst) - shares)
    return unbond_shares(ctx, keeper, delegator, dst, shares)


def _slash_later_unbondings(
    ctx: Context, keeper: StakingKeeper, delegator: bytes, dst: bytes, since: int, amount: int
) -> int:
    """Take up to ``amount`` from the delegator's unbonding entries out of ``dst`` created at
    or after height ``since`` (redelegate, then undelegate, does not dodge the source's slash);
    returns the tokens taken (in the unbonding pool, for the caller to burn)."""
    ubd = keeper.get_unbonding(ctx, delegator, dst)
    if ubd is None or amount == 0:
        return 0
    taken = 0
    for entry in ubd.entries:
        if entry.creation_height >= since and taken < amount:
            cut = min(amount - taken, int(entry.balance))
            entry.balance = str(int(entry.balance) - cut)
            taken += cut
    keeper.set_unbonding(ctx, delegator, dst, ubd)
    return taken


def jail(ctx: Context, keeper: StakingKeeper, operator: bytes, *, tombstone: bool = False) -> None:
    """Take the validator out of the active set (power 0 at the end of the block)."""
    validator = keeper.get_validator(ctx, operator)
    if validator is None:
        return
    validator.jailed = True
    validator.tombstoned = validator.tombstoned or tombstone
    keeper.set_validator(ctx, operator, validator)


def unjail(ctx: Context, keeper: StakingKeeper, operator: bytes) -> None:
    validator = keeper.get_validator(ctx, operator)
    if validator is not None:
        validator.jailed = False
        keeper.set_validator(ctx, operator, validator)


class Actions:
    """slash / jail / unjail bound to the keeper, for modules that punish (the slashing
    module's ``expected.StakingActions``)."""

    def __init__(self, keeper: StakingKeeper) -> None:
        self.keeper = keeper

    def slash(self, ctx: Context, operator: bytes, infraction_height: int, fraction: str) -> int:
        return slash(ctx, self.keeper, operator, infraction_height, fraction)

    def jail(self, ctx: Context, operator: bytes) -> None:
        jail(ctx, self.keeper, operator)

    def unjail(self, ctx: Context, operator: bytes) -> None:
        unjail(ctx, self.keeper, operator)
