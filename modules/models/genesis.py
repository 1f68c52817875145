"""models genesis: params and registered models (each checked as registration checks it)."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain import crypto
from chain.context import Context
from chain.errors import ChainError
from infera.models.v1 import genesis_pb2
from modules.models import logic
from modules.models.keeper import ModelsKeeper
from modules.models.params import default_params, validate_params


def init_genesis(ctx: Context, keeper: ModelsKeeper, data: dict[str, Any]) -> None:
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    params = genesis.params if genesis.HasField("params") else default_params()
    validate_params(params)
    keeper.set_params(ctx, params)
    for model in sorted(genesis.models, key=lambda m: m.id):
        try:
            crypto.from_bech32(model.owner)
            logic.validate_model(model, params)
        except ChainError as err:
            raise ValueError(f"genesis model {model.id!r}: {err.log}") from None
        if keeper.get_model(ctx, model.id) is not None:
            raise ValueError(f"genesis model {model.id!r} listed twice")
        model.price_per_token = logic.compute_canonical_price(model.price_per_token)
        keeper.set_model(ctx, model)


def export_genesis(ctx: Context, keeper: ModelsKeeper) -> dict[str, Any]:
    genesis = genesis_pb2.GenesisState(
        params=keeper.get_params(ctx), models=list(keeper.iterate_models(ctx))
    )
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
