"""tee queries: a worker's attestation (with whether it is valid now), a model's requirement,
params."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from infera.tee.v1 import query_pb2
from modules.tee import logic
from modules.tee.errors import ErrAttestationNotFound, ErrRequirementNotFound
from modules.tee.keeper import TeeKeeper
from modules.tee.keys import MAX_MODEL_ID_BYTES


def attestation(
    ctx: Context, keeper: TeeKeeper, req: query_pb2.QueryAttestationRequest
) -> query_pb2.QueryAttestationResponse:
    """``valid`` is judged at the queried block's height and time."""
    found = keeper.get_attestation(ctx, crypto.from_bech32(req.operator))
    if found is None:
        raise ErrAttestationNotFound(req.operator[:90])
    time_s = ctx.block.time_ns // 1_000_000_000
    valid = logic.is_valid_at(found, ctx.block.height, time_s)
    return query_pb2.QueryAttestationResponse(attestation=found, valid=valid)


def model_requirement(
    ctx: Context, keeper: TeeKeeper, req: query_pb2.QueryModelRequirementRequest
) -> query_pb2.QueryModelRequirementResponse:
    too_long = len(req.model_id.encode()) > MAX_MODEL_ID_BYTES
    found = None if too_long else keeper.get_requirement(ctx, req.model_id)
    if found is None:
        raise ErrRequirementNotFound(repr(req.model_id)[:80])
    return query_pb2.QueryModelRequirementResponse(requirement=found)


def params(
    ctx: Context, keeper: TeeKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))
