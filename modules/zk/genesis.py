"""zk genesis: params and registered keys (each decoded as registration decodes it)."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain.context import Context
from chain.errors import ChainError
from infera.zk.v1 import genesis_pb2
from modules.zk import encoding, logic
from modules.zk.keeper import ZkKeeper
from modules.zk.params import default_params, validate_params


def init_genesis(ctx: Context, keeper: ZkKeeper, data: dict[str, Any]) -> None:
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    params = genesis.params if genesis.HasField("params") else default_params()
    validate_params(params)
    keeper.set_params(ctx, params)
    for key in sorted(genesis.keys, key=lambda k: k.id):
        if not logic.is_valid_key_id(key.id) or keeper.get_key(ctx, key.id) is not None:
            raise ValueError(f"genesis zk key {key.id!r}: bad or repeated id")
        if key.dev_setup and params.refuse_dev_keys:
            raise ValueError(f"genesis zk key {key.id!r}: dev keys are refused")
        try:
            decoded = encoding.decode_verifying_key(key.key, max_public=params.max_public_inputs)
        except ChainError as err:
            raise ValueError(f"genesis zk key {key.id!r}: {err.log}") from None
        key.num_public = decoded.num_public
        if not logic.is_valid_weights(key.weights, key.weights_commitment, key.num_public):
            raise ValueError(f"genesis zk key {key.id!r}: bad weights declaration")
        keeper.set_key(ctx, key)


def export_genesis(ctx: Context, keeper: ZkKeeper) -> dict[str, Any]:
    genesis = genesis_pb2.GenesisState(
        params=keeper.get_params(ctx), keys=list(keeper.iterate_keys(ctx))
    )
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
