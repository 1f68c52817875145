"""models queries."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.context import Context
from chain.pagination import paginate
from infera.models.v1 import query_pb2, types_pb2
from modules.models import keys
from modules.models.errors import ErrModelNotFound
from modules.models.keeper import ModelsKeeper


def model(
    ctx: Context, keeper: ModelsKeeper, req: query_pb2.QueryModelRequest
) -> query_pb2.QueryModelResponse:
    found = keeper.get_model(ctx, req.id)
    if found is None:
        raise ErrModelNotFound(f"model {req.id!r}")
    return query_pb2.QueryModelResponse(model=found)


def models(
    ctx: Context, keeper: ModelsKeeper, req: query_pb2.QueryModelsRequest
) -> query_pb2.QueryModelsResponse:
    found, page = paginate(
        ctx.store, keys.MODEL, req.pagination, lambda _, raw: types_pb2.Model.FromString(raw)
    )
    return query_pb2.QueryModelsResponse(models=found, pagination=page)


def params(
    ctx: Context, keeper: ModelsKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))
