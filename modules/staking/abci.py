"""staking block hooks: double-sign slashing at the start of a block, power updates at the end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context, ValidatorUpdate
from chain.events import attr
from chain.tx import Coin
from modules.staking import events, keys, logic
from modules.staking.keeper import StakingKeeper
from tendermint.abci import types_pb2 as abci

# Misbehavior types CometBFT reports (tendermint.abci.MisbehaviorType).
_PUNISHED = {abci.DUPLICATE_VOTE: "double_sign", abci.LIGHT_CLIENT_ATTACK: "light_client_attack"}


def process_misbehavior(ctx: Context, keeper: StakingKeeper, misbehavior: Sequence[Any]) -> None:
    """Slash and jail every validator CometBFT caught double-signing (evidence is final)."""
    params = keeper.get_params(ctx)
    for evidence in sorted(misbehavior, key=lambda m: (m.height, m.validator.address)):
        reason = _PUNISHED.get(evidence.type)
        operator = keeper.get_operator_by_consensus(ctx, evidence.validator.address)
        if reason is None or operator is None:
            continue
        validator = keeper.get_validator(ctx, operator)
        if validator is None or validator.jailed:
            continue  # already punished for this key; CometBFT may report evidence twice
        amount = logic.compute_slash_amount(
            int(validator.tokens), params.slash_fraction_double_sign
        )
        if amount > 0:
            keeper.bank.burn_coins(ctx, keys.BONDED_POOL, [Coin(params.bond_denom, amount)])
        validator.tokens = str(int(validator.tokens) - amount)
        validator.slashed = str(int(validator.slashed or "0") + amount)
        validator.jailed = True
        keeper.set_validator(ctx, operator, validator)
        ctx.events.emit(
            events.SLASH,
            attr("validator", validator.operator_address, index=True),
            attr("reason", reason),
            attr("slashed", amount),
            attr("jailed", "true"),
        )


def process_power_updates(ctx: Context, keeper: StakingKeeper) -> None:
    """Send CometBFT the validators whose voting power changed (0 removes a validator)."""
    params = keeper.get_params(ctx)
    validators = list(keeper.iterate_validators(ctx))
    powers = logic.compute_active_powers(validators, params)
    for operator, validator in validators:
        power = powers[operator]
        if power == keeper.get_last_power(ctx, operator):
            continue
        keeper.set_last_power(ctx, operator, power)
        ctx.validator_updates.append(ValidatorUpdate(bytes(validator.consensus_pubkey), power))
        ctx.events.emit(
            events.POWER_CHANGE,
            attr("validator", crypto.to_bech32(operator), index=True),
            attr("power", power),
        )
