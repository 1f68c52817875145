"""staking messages."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from chain.fixed import Decimal
from chain.tx import Coin, parse_coins
from infera.staking.v1 import tx_pb2, types_pb2
from modules.staking import delegation, events, keys, logic
from modules.staking.errors import (
    ErrCommissionChange,
    ErrConsensusKeyInUse,
    ErrInvalidCommission,
    ErrInvalidConsensusKey,
    ErrInvalidMoniker,
    ErrMaxEntries,
    ErrSelfBondTooLow,
    ErrSelfRedelegation,
    ErrTransitiveRedelegation,
    ErrValidatorExists,
    ErrValidatorJailed,
    ErrValidatorNotFound,
    ErrWrongBondDenom,
)
from modules.staking.keeper import StakingKeeper


def create_validator(
    ctx: Context, keeper: StakingKeeper, msg: tx_pb2.MsgCreateValidator
) -> tx_pb2.MsgCreateValidatorResponse:
    """Bond a self-bond and add a validator (power takes effect at the end of the block).

    Fails when: the operator address is malformed; the consensus key is not 32 bytes; the moniker
    is empty, too long or unprintable; the commission is malformed, above 1, rate > max rate or
    max change rate > max rate; the bond is not in the bond denom or below the minimum; the
    operator is already a validator; the consensus key is in use; the balance is too low.
    """
    # verify
    operator = crypto.from_bech32(msg.operator_address)
    if len(msg.consensus_pubkey) != crypto.ED25519_PUBKEY_LENGTH:
        raise ErrInvalidConsensusKey(f"got {len(msg.consensus_pubkey)} bytes")
    if not logic.is_valid_moniker(msg.moniker):
        raise ErrInvalidMoniker(f"moniker {msg.moniker!r}")
    commission = _parse_commission(ctx, msg)
    (bond,) = parse_coins([msg.self_bond])
    # load
    params = keeper.get_params(ctx)
    consensus_address = crypto.consensus_address(msg.consensus_pubkey)
    # check
    _check_bond_denom(bond, params)
    if bond.amount < int(params.min_self_bond):
        raise ErrSelfBondTooLow(f"{bond.amount} < {params.min_self_bond}")
    if keeper.get_validator(ctx, operator) is not None:
        raise ErrValidatorExists(msg.operator_address)
    if keeper.get_operator_by_consensus(ctx, consensus_address) is not None:
        raise ErrConsensusKeyInUse(consensus_address.hex())
    # mutate
    validator = types_pb2.Validator(
        operator_address=msg.operator_address,
        consensus_pubkey=msg.consensus_pubkey,
        tokens="0",
        moniker=msg.moniker,
        slashed="0",
        delegator_shares="0",
        commission=commission,
    )
    keeper.set_validator(ctx, operator, validator)
    keeper.set_consensus_index(ctx, consensus_address, operator)
    # hooks
    if keeper.hooks is not None:
        keeper.hooks.after_validator_created(ctx, operator)
    delegation.bond_tokens(
        ctx, keeper, operator, operator, validator, bond.amount, from_account=True
    )
    # events
    ctx.events.emit(
        events.CREATE_VALIDATOR,
        attr("validator", msg.operator_address, index=True),
        attr("moniker", msg.moniker),
        attr("amount", f"{bond.amount}{bond.denom}"),
    )
    # respond
    return tx_pb2.MsgCreateValidatorResponse()


def _parse_commission(ctx: Context, msg: tx_pb2.MsgCreateValidator) -> types_pb2.Commission:
    given = (msg.commission_rate, msg.commission_max_rate, msg.commission_max_change_rate)
    texts = logic.DEFAULT_COMMISSION if given == ("", "", "") else given
    parsed = [logic.parse_fraction(t) for t in texts]
    rate, max_rate, max_change = parsed
    if rate is None or max_rate is None or max_change is None:
        raise ErrInvalidCommission(f"commission {texts!r}: decimals in [0, 1]")
    if not logic.is_valid_commission(rate, max_rate, max_change):
        raise ErrInvalidCommission("need rate <= max rate and max change rate <= max rate")
    return types_pb2.Commission(
        rate=str(rate),
        max_rate=str(max_rate),
        max_change_rate=str(max_change),
        update_time_ns=ctx.block.time_ns,
    )


def edit_validator(
    ctx: Context, keeper: StakingKeeper, msg: tx_pb2.MsgEditValidator
) -> tx_pb2.MsgEditValidatorResponse:
    """Change the moniker and/or the commission rate (empty fields: unchanged).

    Fails when: the operator is not a validator; the moniker is too long or unprintable; the
    rate is malformed, above max rate, moves more than max change rate from the current rate,
    or the rate changed less than 24 h (block time) ago.
    """
    # verify
    operator = crypto.from_bech32(msg.operator_address)
    if msg.moniker and not logic.is_valid_moniker(msg.moniker):
        raise ErrInvalidMoniker(f"moniker {msg.moniker!r}")
    rate: Decimal | None = None
    if msg.commission_rate:
        rate = logic.parse_fraction(msg.commission_rate)
        if rate is None:
            raise ErrInvalidCommission(f"rate {msg.commission_rate!r}")
    # load
    validator = _get_validator(ctx, keeper, operator, msg.operator_address)
    # check
    if rate is not None:
        refusal = logic.compute_commission_refusal(validator.commission, rate, ctx.block.time_ns)
        if refusal:
            raise ErrCommissionChange(refusal)
    # mutate (commission changes apply to rewards from the next allocation on)
    if msg.moniker:
        validator.moniker = msg.moniker
    if rate is not None:
        validator.commission.rate = str(rate)
        validator.commission.update_time_ns = ctx.block.time_ns
    keeper.set_validator(ctx, operator, validator)
    # events
    ctx.events.emit(
        events.EDIT_VALIDATOR,
        attr("validator", msg.operator_address, index=True),
        attr("moniker", validator.moniker),
        attr("commission_rate", validator.commission.rate),
    )
    # respond
    return tx_pb2.MsgEditValidatorResponse()


def delegate(
    ctx: Context, keeper: StakingKeeper, msg: tx_pb2.MsgDelegate
) -> tx_pb2.MsgDelegateResponse:
    """Bond ``amount`` from the delegator's balance to a validator for shares.

    Fails when: an address is malformed; the amount is not a positive amount of the bond denom;
    the validator does not exist, is tombstoned, or is jailed and the delegator is not its
    operator (a jailed validator earns nothing and its power is 0; its operator may top up its
    self-bond to unjail); the
    validator's tokens were slashed to 0 (the shares would be 0); the balance is too low.
    """
    # verify
    delegator = crypto.from_bech32(msg.delegator_address)
    operator = crypto.from_bech32(msg.validator_address)
    (amount,) = parse_coins([msg.amount])
    # load
    params = keeper.get_params(ctx)
    validator = _get_validator(ctx, keeper, operator, msg.validator_address)
    # check
    _check_bond_denom(amount, params)
    if validator.tombstoned or (validator.jailed and delegator != operator):
        raise ErrValidatorJailed(msg.validator_address)  # its operator may top up to unjail
    # mutate (with hooks)
    shares = delegation.bond_tokens(
        ctx, keeper, delegator, operator, validator, amount.amount, from_account=True
    )
    # events
    ctx.events.emit(
        events.DELEGATE,
        attr("delegator", msg.delegator_address, index=True),
        attr("validator", msg.validator_address, index=True),
        attr("amount", amount.amount),
        attr("shares", shares),
    )
    # respond
    return tx_pb2.MsgDelegateResponse()


def undelegate(
    ctx: Context, keeper: StakingKeeper, msg: tx_pb2.MsgUndelegate
) -> tx_pb2.MsgUndelegateResponse:
    """Start unbonding ``amount`` tokens; they return after ``unbonding_time_ns`` (block time)
    and stay slashable for the validator's infractions from this height on until then.

    Fails when: an address is malformed; the amount is not a positive amount of the bond denom;
    the validator does not exist; there is no delegation; the delegation is worth less than
    ``amount``; the pair already has ``max_entries`` unbonding entries.
    """
    # verify
    delegator = crypto.from_bech32(msg.delegator_address)
    operator = crypto.from_bech32(msg.validator_address)
    (amount,) = parse_coins([msg.amount])
    # load
    params = keeper.get_params(ctx)
    validator = _get_validator(ctx, keeper, operator, msg.validator_address)
    existing = keeper.get_unbonding(ctx, delegator, operator)
    # check
    _check_bond_denom(amount, params)
    shares = delegation.compute_unbond_shares(
        validator, keeper.get_delegation(ctx, delegator, operator), amount.amount
    )
    if existing is not None and len(existing.entries) >= params.max_entries:
        raise ErrMaxEntries(f"{len(existing.entries)} unbonding entries")
    # mutate (with hooks)
    tokens = delegation.unbond_shares(ctx, keeper, delegator, operator, shares)
    completion = delegation.add_unbonding_entry(ctx, keeper, delegator, operator, tokens)
    # events
    ctx.events.emit(
        events.UNBOND,
        attr("delegator", msg.delegator_address, index=True),
        attr("validator", msg.validator_address, index=True),
        attr("amount", tokens),
        attr("completion_time_ns", completion),
    )
    # respond
    return tx_pb2.MsgUndelegateResponse(completion_time_ns=completion, amount=str(tokens))


def begin_redelegate(
    ctx: Context, keeper: StakingKeeper, msg: tx_pb2.MsgBeginRedelegate
) -> tx_pb2.MsgBeginRedelegateResponse:
    """Move ``amount`` tokens' worth of a delegation to another validator at once; until the
    unbonding time has passed the source's infractions (from this height) still slash them.

    Fails when: an address is malformed; source = destination; the amount is not a positive
    amount of the bond denom; either validator does not exist; the destination is jailed or has
    no tokens left for its shares; the delegation is worth less than ``amount``; a redelegation
    into the source is still in progress (no hopping: src -> dst -> dst2 would let a stake
    escape the first source's slash); the triple already has ``max_entries`` entries.
    """
    # verify
    delegator = crypto.from_bech32(msg.delegator_address)
    src = crypto.from_bech32(msg.validator_src_address)
    dst = crypto.from_bech32(msg.validator_dst_address)
    if src == dst:
        raise ErrSelfRedelegation(msg.validator_src_address)
    (amount,) = parse_coins([msg.amount])
    # load
    params = keeper.get_params(ctx)
    source = _get_validator(ctx, keeper, src, msg.validator_src_address)
    destination = _get_validator(ctx, keeper, dst, msg.validator_dst_address)
    existing = keeper.get_redelegation(ctx, delegator, src, dst)
    # check
    _check_bond_denom(amount, params)
    if destination.jailed:
        raise ErrValidatorJailed(msg.validator_dst_address)
    shares = delegation.compute_unbond_shares(
        source, keeper.get_delegation(ctx, delegator, src), amount.amount
    )
    if keeper.has_receiving_redelegation(ctx, delegator, src):
        raise ErrTransitiveRedelegation(msg.validator_src_address)
    if existing is not None and len(existing.entries) >= params.max_entries:
        raise ErrMaxEntries(f"{len(existing.entries)} redelegation entries")
    # mutate (with hooks); the tokens stay in the bonded pool
    tokens = delegation.unbond_shares(ctx, keeper, delegator, src, shares)
    destination = _get_validator(ctx, keeper, dst, msg.validator_dst_address)
    shares_dst = delegation.bond_tokens(
        ctx, keeper, delegator, dst, destination, tokens, from_account=False
    )
    completion = ctx.block.time_ns + params.unbonding_time_ns
    red = existing or types_pb2.Redelegation(
        delegator_address=msg.delegator_address,
        validator_src_address=msg.validator_src_address,
        validator_dst_address=msg.validator_dst_address,
    )
    red.entries.add(
        creation_height=ctx.block.height,
        completion_time_ns=completion,
        initial_balance=str(tokens),
        shares_dst=str(shares_dst),
    )
    keeper.set_redelegation(ctx, delegator, src, dst, red)
    keeper.enqueue(ctx, keys.REDELEGATION_QUEUE, completion, delegator + src + dst)
    # events
    ctx.events.emit(
        events.REDELEGATE,
        attr("delegator", msg.delegator_address, index=True),
        attr("source", msg.validator_src_address),
        attr("destination", msg.validator_dst_address),
        attr("amount", tokens),
        attr("completion_time_ns", completion),
    )
    # respond
    return tx_pb2.MsgBeginRedelegateResponse(completion_time_ns=completion)


def _get_validator(
    ctx: Context, keeper: StakingKeeper, operator: bytes, text: str
) -> types_pb2.Validator:
    validator = keeper.get_validator(ctx, operator)
    if validator is None:
        raise ErrValidatorNotFound(text)
    return validator


def _check_bond_denom(coin: Coin, params: types_pb2.Params) -> None:
    if coin.denom != params.bond_denom:
        raise ErrWrongBondDenom(f"got {coin.denom}, expected {params.bond_denom}")
