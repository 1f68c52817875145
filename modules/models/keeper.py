"""models keeper: models by id and params (get/set/iterate only)."""

from __future__ import annotations

from collections.abc import Iterator

import chain.pb  # noqa: F401

from chain.context import Context
from chain.store import prefix_end
from infera.models.v1 import types_pb2
from modules.models import keys


class ModelsKeeper:
    def get_params(self, ctx: Context) -> types_pb2.Params:
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("models params missing from state")
        return types_pb2.Params.FromString(raw)

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString(deterministic=True))

    def get_model(self, ctx: Context, model_id: str) -> types_pb2.Model | None:
        """The model registered under ``model_id`` (retired ones included), or None."""
        raw = ctx.store.get(keys.model_key(model_id))
        return None if raw is None else types_pb2.Model.FromString(raw)

    def set_model(self, ctx: Context, model: types_pb2.Model) -> None:
        ctx.store.set(keys.model_key(model.id), model.SerializeToString(deterministic=True))

    def iterate_models(self, ctx: Context, start_id: str = "") -> Iterator[types_pb2.Model]:
        """Models in id order, from ``start_id`` on."""
        for _, raw in ctx.store.iterate(keys.model_key(start_id), prefix_end(keys.MODEL)):
            yield types_pb2.Model.FromString(raw)
