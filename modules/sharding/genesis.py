"""sharding genesis: params only."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain.context import Context
from infera.sharding.v1 import genesis_pb2
from modules.sharding.keeper import ShardingKeeper
from modules.sharding.params import default_params, validate_params


def init_genesis(ctx: Context, keeper: ShardingKeeper, data: dict[str, Any]) -> None:
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    params = genesis.params if genesis.HasField("params") else default_params()
    validate_params(params)
    keeper.set_params(ctx, params)


def export_genesis(ctx: Context, keeper: ShardingKeeper) -> dict[str, Any]:
    genesis = genesis_pb2.GenesisState(params=keeper.get_params(ctx))
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
