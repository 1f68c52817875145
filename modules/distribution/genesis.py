"""distribution genesis, and the start of its accounting on a chain that predates it."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain.context import Context
from chain.text import parse_uint
from infera.distribution.v1 import genesis_pb2
from modules.distribution import keys, rewards
from modules.distribution.keeper import DistributionKeeper
from modules.distribution.params import default_params

CONSENSUS_VERSION = 1


def init_genesis(ctx: Context, keeper: DistributionKeeper, data: dict[str, Any]) -> None:
    """Params and the community pool (the distribution account must hold it); every genesis
    validator and delegation starts its accounting at period 0. Runs after staking's genesis."""
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    keeper.set_params(ctx, genesis.params if genesis.HasField("params") else default_params())
    pool = parse_uint(genesis.community_pool or "0")
    keeper.set_community_pool(ctx, pool)
    held = keeper.bank.get_balance(ctx, rewards.account_address(), keeper.get_params(ctx).denom)
    if held != pool:
        raise ValueError(f"distribution account holds {held} but the community pool is {pool}")
    start_accounting(ctx, keeper)


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
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
