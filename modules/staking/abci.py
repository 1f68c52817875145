"""staking block hooks: double-sign slashing at the start of a block; matured unbondings and
redelegations, then power updates, at the end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context, ValidatorUpdate
from chain.events import attr
from modules.staking import delegation, events, logic
from modules.staking.keeper import StakingKeeper
from tendermint.abci import types_pb2 as abci

# Misbehavior types CometBFT reports (tendermint.abci.MisbehaviorType).
_PUNISHED = {abci.DUPLICATE_VOTE: "double_sign", abci.LIGHT_CLIENT_ATTACK: "light_client_attack"}


def process_misbehavior(ctx: Context, keeper: StakingKeeper, misbehavior: Sequence[Any]) -> None:
    """Slash, jail and tombstone every validator CometBFT caught double-signing (evidence is
    final). The slash reaches unbonding and redelegation entries started at or after the
    infraction height; a tombstoned validator never unjails, so it is punished once."""
    params = keeper.get_params(ctx)
    for evidence in sorted(misbehavior, key=lambda m: (m.height, m.validator.address)):
        reason = _PUNISHED.get(evidence.type)
        operator = keeper.get_operator_by_consensus(ctx, evidence.validator.address)
        if reason is None or operator is None:
            continue
        validator = keeper.get_validator(ctx, operator)
        if validator is None or validator.tombstoned:
            continue  # already punished for this key; CometBFT may report evidence twice
        amount = delegation.slash(
            ctx, keeper, operator, int(evidence.height), params.slash_fraction_double_sign
        )
        delegation.jail(ctx, keeper, operator, tombstone=True)
        ctx.events.emit(
            events.SLASH,
            attr("validator", validator.operator_address, index=True),
            attr("reason", reason),
            attr("slashed", amount),
            attr("jailed", "true"),
        )


def process_maturity(ctx: Context, keeper: StakingKeeper) -> None:
    """Pay back unbondings and end redelegations whose completion time has come."""
    delegation.complete_unbondings(ctx, keeper)
    delegation.complete_redelegations(ctx, keeper)


def process_power_updates(ctx: Context, keeper: StakingKeeper) -> None:
    """Send CometBFT the validators whose voting power changed (0 removes a validator).

    Reads only who can matter, never every validator ever created: the candidates at the top of
    the by-tokens index (enough to decide the active set) and the validators CometBFT counts
    now (their power may drop to 0). Everyone else has power 0 and was last sent 0."""
    params = keeper.get_params(ctx)
    validators = _validators_that_matter(ctx, keeper, params)
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


def _validators_that_matter(
    ctx: Context, keeper: StakingKeeper, params: Any
) -> list[tuple[bytes, Any]]:
    """The top ``max_validators`` candidates by power (with everyone tied with the last), plus
    the validators with a last power, in operator-address order."""
    chosen: dict[bytes, Any] = {}
    cutoff = None  # the power of the max_validators-th candidate
    for operator, validator in keeper.iterate_by_tokens(ctx):
        power = logic.compute_power(validator, params.power_reduction)
        if power == 0 or params.max_validators <= 0 or (cutoff is not None and power < cutoff):
            break  # tokens only fall from here: nobody further down can enter the active set
        chosen[operator] = validator
        if cutoff is None and len(chosen) == params.max_validators:
            cutoff = power
    for operator in keeper.iterate_last_powers(ctx):
        if operator not in chosen:
            validator = keeper.get_validator(ctx, operator)
            if validator is not None:
                chosen[operator] = validator
    return sorted(chosen.items())
