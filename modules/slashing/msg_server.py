"""slashing messages."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from infera.slashing.v1 import tx_pb2
from infera.staking.v1 import types_pb2 as staking_types
from modules.slashing import events
from modules.slashing.errors import (
    ErrJailPeriod,
    ErrNotJailed,
    ErrNoValidator,
    ErrSelfBondTooLow,
    ErrTombstoned,
)
from modules.slashing.keeper import SlashingKeeper


def unjail(ctx: Context, keeper: SlashingKeeper, msg: tx_pb2.MsgUnjail) -> tx_pb2.MsgUnjailResponse:
    """Make a jailed validator a candidate again (power from the end of the block, if it ranks).

    Fails when: the address is malformed; it is not a validator; it is not jailed; it is
    tombstoned (double-signed); its downtime jail lasts past this block's time; its operator's
    self-delegation is worth less than ``min_self_bond``.
    """
    # verify
    operator = crypto.from_bech32(msg.validator_address)
    # load
    validator = keeper.staking.get_validator(ctx, operator)
    if validator is None:
        raise ErrNoValidator(msg.validator_address)
    info = keeper.get_info(ctx, crypto.consensus_address(bytes(validator.consensus_pubkey)))
    # check
    if not validator.jailed:
        raise ErrNotJailed(msg.validator_address)
    if validator.tombstoned:
        raise ErrTombstoned(msg.validator_address)
    if info is not None and ctx.block.time_ns < info.jailed_until_ns:
        raise ErrJailPeriod(f"until {info.jailed_until_ns} ns, now {ctx.block.time_ns}")
    self_bond = _self_bond_tokens(ctx, keeper, operator, validator)
    if self_bond < int(keeper.staking.get_params(ctx).min_self_bond):
        raise ErrSelfBondTooLow(f"{self_bond}")
    # mutate
    keeper.actions.unjail(ctx, operator)
    # events
    ctx.events.emit(events.UNJAIL, attr("validator", msg.validator_address, index=True))
    # respond
    return tx_pb2.MsgUnjailResponse()


def _self_bond_tokens(
    ctx: Context, keeper: SlashingKeeper, operator: bytes, validator: staking_types.Validator
) -> int:
    delegation = keeper.staking.get_delegation(ctx, operator, operator)
    total = int(validator.delegator_shares or "0")
    if delegation is None or total == 0:
        return 0
    return int(delegation.shares) * int(validator.tokens) // total
