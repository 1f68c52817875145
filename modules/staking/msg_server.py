"""staking messages."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from chain.tx import parse_coins
from infera.staking.v1 import tx_pb2, types_pb2
from modules.staking import events, keys, logic
from modules.staking.errors import (
    ErrConsensusKeyInUse,
    ErrInvalidConsensusKey,
    ErrInvalidMoniker,
    ErrSelfBondTooLow,
    ErrValidatorExists,
    ErrWrongBondDenom,
)
from modules.staking.keeper import StakingKeeper


def create_validator(
    ctx: Context, keeper: StakingKeeper, msg: tx_pb2.MsgCreateValidator
) -> tx_pb2.MsgCreateValidatorResponse:
    """Bond a self-bond and add a validator (power takes effect at the end of the block).

    Fails when: the operator address is malformed; the consensus key is not 32 bytes; the moniker
    is empty, too long or unprintable; the bond is not in the bond denom or below the minimum;
    the operator is already a validator; the consensus key is in use; the balance is too low.
    """
    # verify
    operator = crypto.from_bech32(msg.operator_address)
    if len(msg.consensus_pubkey) != crypto.ED25519_PUBKEY_LENGTH:
        raise ErrInvalidConsensusKey(f"got {len(msg.consensus_pubkey)} bytes")
    if not logic.is_valid_moniker(msg.moniker):
        raise ErrInvalidMoniker(f"moniker {msg.moniker!r}")
    (bond,) = parse_coins([msg.self_bond])
    # load
    params = keeper.get_params(ctx)
    consensus_address = crypto.consensus_address(msg.consensus_pubkey)
    # check
    if bond.denom != params.bond_denom:
        raise ErrWrongBondDenom(f"got {bond.denom}, expected {params.bond_denom}")
    if bond.amount < int(params.min_self_bond):
        raise ErrSelfBondTooLow(f"{bond.amount} < {params.min_self_bond}")
    if keeper.get_validator(ctx, operator) is not None:
        raise ErrValidatorExists(msg.operator_address)
    if keeper.get_operator_by_consensus(ctx, consensus_address) is not None:
        raise ErrConsensusKeyInUse(consensus_address.hex())
    # mutate
    keeper.bank.send_coins_to_module(ctx, operator, keys.BONDED_POOL, [bond])
    validator = types_pb2.Validator(
        operator_address=msg.operator_address,
        consensus_pubkey=msg.consensus_pubkey,
        tokens=str(bond.amount),
        moniker=msg.moniker,
        slashed="0",
    )
    keeper.set_validator(ctx, operator, validator)
    keeper.set_consensus_index(ctx, consensus_address, operator)
    # events
    ctx.events.emit(
        events.CREATE_VALIDATOR,
        attr("validator", msg.operator_address, index=True),
        attr("moniker", msg.moniker),
        attr("amount", f"{bond.amount}{bond.denom}"),
    )
    # respond
    return tx_pb2.MsgCreateValidatorResponse()
