"""slashing genesis (params and signing records), and default params on a chain that predates
the module."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain.context import Context
from infera.slashing.v1 import genesis_pb2
from modules.slashing.keeper import SlashingKeeper
from modules.slashing.params import default_params, validate_params


def init_genesis(ctx: Context, keeper: SlashingKeeper, data: dict[str, Any]) -> None:
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    params = genesis.params if genesis.HasField("params") else default_params()
    validate_params(params)
    keeper.set_params(ctx, params)
    for info in genesis.signing_infos:
        if len(info.address) != 20:
            raise ValueError("slashing genesis: signing info address must be 20 bytes")
        info.missed_blocks_counter = 0  # missed bits are not exported: the window restarts
        keeper.set_info(ctx, info)


def run_pending(ctx: Context, keeper: SlashingKeeper) -> bool:
    """A store written before the module existed has no params: write the defaults, once."""
    if keeper.has_params(ctx):
        return False
    keeper.set_params(ctx, default_params())
    return True


def export_genesis(ctx: Context, keeper: SlashingKeeper) -> dict[str, Any]:
    infos = []
    for info in keeper.iterate_infos(ctx):
        info.missed_blocks_counter, info.index_offset = 0, 0
        infos.append(info)
    genesis = genesis_pb2.GenesisState(params=keeper.get_params(ctx), signing_infos=infos)
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
