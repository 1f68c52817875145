"""staking genesis: params, validators (returned to CometBFT by InitChain), delegations and
the unbonding / redelegation records in flight."""

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
from modules.staking.params import default_params, fill_defaults, validate_params


def init_genesis(ctx: Context, keeper: StakingKeeper, data: dict[str, Any]) -> None:
    """Load validators and delegations; the validators' tokens must equal the bonded pool's
    genesis balance and the unbonding balances the unbonding pool's. A genesis without
    delegations gives each validator its operator's self-delegation of all its tokens."""
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    params = fill_defaults(genesis.params if genesis.HasField("params") else default_params())
    params.min_self_bond = str(parse_uint(params.min_self_bond))  # ASCII digits, canonical
    validate_params(params)
    keeper.set_params(ctx, params)
    migrations.init_version(ctx)
    bonded = sum(_init_validator(ctx, keeper, v, genesis) for v in genesis.validators)
    for delegation in genesis.delegations:
        delegator = crypto.from_bech32(delegation.delegator_address)
        operator = crypto.from_bech32(delegation.validator_address)
        delegation.shares = str(parse_uint(delegation.shares))
        keeper.set_delegation(ctx, delegator, operator, delegation)
    unbonding = _init_in_flight(ctx, keeper, genesis)
    _check_pool(ctx, keeper, keys.BONDED_POOL, params.bond_denom, bonded)
    _check_pool(ctx, keeper, keys.UNBONDING_POOL, params.bond_denom, unbonding)
    abci.process_power_updates(ctx, keeper)
    if genesis.validators and not ctx.validator_updates:
        raise ValueError("no genesis validator has voting power")


def _init_validator(
    ctx: Context, keeper: StakingKeeper, validator: Any, genesis: genesis_pb2.GenesisState
) -> int:
    if len(validator.consensus_pubkey) != crypto.ED25519_PUBKEY_LENGTH:
        raise ValueError(f"genesis validator {validator.moniker!r}: bad consensus key")
    operator = crypto.from_bech32(validator.operator_address)
    validator.tokens = str(parse_uint(validator.tokens))  # canonical, ASCII digits only
    validator.slashed = str(parse_uint(validator.slashed or "0"))
    migrations.upgrade_validator_record(validator)
    keeper.set_validator(ctx, operator, validator)
    keeper.set_consensus_index(ctx, crypto.consensus_address(validator.consensus_pubkey), operator)
    if not genesis.delegations:
        migrations.self_delegation(ctx, keeper, operator, validator)
    return int(validator.tokens)


def _init_in_flight(ctx: Context, keeper: StakingKeeper, genesis: Any) -> int:
    """Unbonding and redelegation records, queued again; returns the unbonding total."""
    total = 0
    for ubd in genesis.unbonding_delegations:
        delegator = crypto.from_bech32(ubd.delegator_address)
        operator = crypto.from_bech32(ubd.validator_address)
        keeper.set_unbonding(ctx, delegator, operator, ubd)
        for entry in ubd.entries:
            total += parse_uint(entry.balance)
            keeper.enqueue(
                ctx, keys.UNBONDING_QUEUE, entry.completion_time_ns, delegator + operator
            )
    for red in genesis.redelegations:
        triple = b"".join(
            crypto.from_bech32(a)
            for a in (red.delegator_address, red.validator_src_address, red.validator_dst_address)
        )
        keeper.set_redelegation(ctx, triple[:20], triple[20:40], triple[40:], red)
        for entry in red.entries:
            keeper.enqueue(ctx, keys.REDELEGATION_QUEUE, entry.completion_time_ns, triple)
    return total


def _check_pool(ctx: Context, keeper: StakingKeeper, pool: str, denom: str, total: int) -> None:
    held = keeper.bank.get_balance(ctx, crypto.module_address(pool), denom)
    if held != total:
        raise ValueError(f"{pool} holds {held} but staking genesis accounts for {total}")


def export_genesis(ctx: Context, keeper: StakingKeeper) -> dict[str, Any]:
    genesis = genesis_pb2.GenesisState(
        params=keeper.get_params(ctx),
        validators=[v for _, v in keeper.iterate_validators(ctx)],
        delegations=[d for _, _, d in keeper.iterate_delegations(ctx)],
        unbonding_delegations=list(keeper.iterate_unbondings(ctx)),
        redelegations=list(keeper.iterate_redelegations(ctx)),
    )
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
