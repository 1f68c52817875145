"""distribution genesis (import and export of the whole reward accounting), and the start of
its accounting on a chain that predates it."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain import crypto
from chain.context import Context
from chain.text import parse_uint
from infera.distribution.v1 import genesis_pb2
from modules.distribution import keys, rewards
from modules.distribution.keeper import DistributionKeeper
from modules.distribution.params import default_params, validate_params

CONSENSUS_VERSION = 1


def init_genesis(ctx: Context, keeper: DistributionKeeper, data: dict[str, Any]) -> None:
    """Params, the community pool and the reward records (or, without records, every genesis
    validator and delegation started at period 0). The distribution account must hold the pool
    plus all outstanding rewards. Runs after staking's genesis."""
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    params = genesis.params if genesis.HasField("params") else default_params()
    validate_params(params)
    keeper.set_params(ctx, params)
    pool = parse_uint(genesis.community_pool or "0")
    keeper.set_community_pool(ctx, pool)
    owed = pool + sum(_load_validator(ctx, keeper, record) for record in genesis.validators)
    for start in genesis.starting_infos:
        operator = crypto.from_bech32(start.validator_address)
        keeper.set_starting(ctx, operator, crypto.from_bech32(start.delegator_address), start.info)
    held = keeper.bank.get_balance(ctx, rewards.account_address(), keeper.get_params(ctx).denom)
    if held != owed:
        raise ValueError(f"distribution account holds {held} but genesis accounts for {owed}")
    if genesis.validators:
        ctx.store.set(keys.VERSION, str(CONSENSUS_VERSION).encode("ascii"))
    else:
        start_accounting(ctx, keeper)


def _load_validator(
    ctx: Context, keeper: DistributionKeeper, record: genesis_pb2.ValidatorRewardsRecord
) -> int:
    operator = crypto.from_bech32(record.validator_address)
    keeper.set_current(ctx, operator, record.current)
    keeper.set_commission(ctx, operator, parse_uint(record.commission or "0"))
    outstanding = parse_uint(record.outstanding or "0")
    keeper.set_outstanding(ctx, operator, outstanding)
    for historical in record.historical:
        keeper.set_historical(ctx, operator, historical.period, historical.rewards)
    return outstanding


def start_accounting(ctx: Context, keeper: DistributionKeeper) -> None:
    """Open period 1 for every validator and start every delegation there (operator order)."""
    for operator, _ in keeper.staking.iterate_validators(ctx):
        rewards.initialize_validator(ctx, keeper, operator)
    for delegator, operator, _ in keeper.staking.iterate_delegations(ctx):
        rewards.start_delegation(ctx, keeper, operator, delegator)
    ctx.store.set(keys.VERSION, str(CONSENSUS_VERSION).encode("ascii"))


def run_pending(ctx: Context, keeper: DistributionKeeper) -> bool:
    """On a chain whose state predates the module (no version key): default params and the
    accounting started at this block, once. Returns whether it ran."""
    if ctx.store.get(keys.VERSION) is not None:
        return False
    keeper.set_params(ctx, default_params())
    start_accounting(ctx, keeper)
    return True


def export_genesis(ctx: Context, keeper: DistributionKeeper) -> dict[str, Any]:
    genesis = genesis_pb2.GenesisState(
        params=keeper.get_params(ctx), community_pool=str(keeper.get_community_pool(ctx))
    )
    for operator, validator in keeper.staking.iterate_validators(ctx):
        current = keeper.get_current(ctx, operator)
        if current is None:
            continue
        record = genesis.validators.add(
            validator_address=validator.operator_address,
            current=current,
            commission=str(keeper.get_commission(ctx, operator)),
            outstanding=str(keeper.get_outstanding(ctx, operator)),
        )
        for period in keeper.iterate_historical(ctx, operator):
            record.historical.add(
                period=period, rewards=keeper.get_historical(ctx, operator, period)
            )
        for delegator, info in keeper.iterate_starting(ctx, operator):
            genesis.starting_infos.add(
                delegator_address=crypto.to_bech32(delegator),
                validator_address=validator.operator_address,
                info=info,
            )
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
