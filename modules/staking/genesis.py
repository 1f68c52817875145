"""staking genesis: params and the initial validator set (returned to CometBFT by InitChain)."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain import crypto
from chain.context import Context
from chain.text import parse_uint
from infera.staking.v1 import genesis_pb2
from modules.staking import abci, keys, migrations
from modules.staking.keeper import StakingKeeper
from modules.staking.params import default_params


def init_genesis(ctx: Context, keeper: StakingKeeper, data: dict[str, Any]) -> None:
    """Load validators; their tokens must equal the bonded pool's genesis balance."""
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    params = genesis.params if genesis.HasField("params") else default_params()
    params.min_self_bond = str(parse_uint(params.min_self_bond))  # ASCII digits, canonical
    keeper.set_params(ctx, params)
    migrations.init_version(ctx)
    total = 0
    for validator in genesis.validators:
        if len(validator.consensus_pubkey) != crypto.ED25519_PUBKEY_LENGTH:
            raise ValueError(f"genesis validator {validator.moniker!r}: bad consensus key")
        operator = crypto.from_bech32(validator.operator_address)
        validator.tokens = str(parse_uint(validator.tokens))  # canonical, ASCII digits only
        validator.slashed = str(parse_uint(validator.slashed or "0"))
        keeper.set_validator(ctx, operator, validator)
        keeper.set_consensus_index(
            ctx, crypto.consensus_address(validator.consensus_pubkey), operator
        )
        total += parse_uint(validator.tokens)
    pool = keeper.bank.get_balance(ctx, crypto.module_address(keys.BONDED_POOL), params.bond_denom)
    if pool != total:
        raise ValueError(f"bonded pool holds {pool} but genesis validators bond {total}")
    abci.process_power_updates(ctx, keeper)
    if genesis.validators and not ctx.validator_updates:
        raise ValueError("no genesis validator has voting power")


def export_genesis(ctx: Context, keeper: StakingKeeper) -> dict[str, Any]:
    genesis = genesis_pb2.GenesisState(
        params=keeper.get_params(ctx), validators=[v for _, v in keeper.iterate_validators(ctx)]
    )
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
