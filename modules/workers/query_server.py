"""workers queries."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.pagination import paginate
from infera.workers.v1 import query_pb2, types_pb2
from modules.workers import keys, logic
from modules.workers.errors import ErrWorkerNotFound
from modules.workers.keeper import WorkersKeeper


def worker(
    ctx: Context, keeper: WorkersKeeper, req: query_pb2.QueryWorkerRequest
) -> query_pb2.QueryWorkerResponse:
    """The record and, when the tee module is wired and the worker attested, its attestation
    judged at the queried block."""
    operator, found = _load(ctx, keeper, req.operator)
    attestation = None
    if keeper.attestations is not None:
        attestation = keeper.attestations.get_worker_attestation(
            ctx, operator, bytes(found.encryption_pubkey)
        )
    return query_pb2.QueryWorkerResponse(worker=found, attestation=attestation)


def workers(
    ctx: Context, keeper: WorkersKeeper, req: query_pb2.QueryWorkersRequest
) -> query_pb2.QueryWorkersResponse:
    found, page = paginate(
        ctx.store, keys.WORKER, req.pagination, lambda _, raw: types_pb2.Worker.FromString(raw)
    )
    return query_pb2.QueryWorkersResponse(workers=found, pagination=page)


def worker_stats(
    ctx: Context, keeper: WorkersKeeper, req: query_pb2.QueryWorkerStatsRequest
) -> query_pb2.QueryWorkerStatsResponse:
    operator, found = _load(ctx, keeper, req.operator)
    params = keeper.get_params(ctx)
    per_layer = {}
    for model_id in sorted({s.model_id for s in found.spans}):
        model = keeper.models.get_model(ctx, model_id)
        per_layer[model_id] = model.bytes_per_layer if model is not None else 0
    return query_pb2.QueryWorkerStatsResponse(
        operator=found.operator,
        bonded=found.bonded,
        unbonding=found.unbonding,
        stake=str(keeper.get_stake(ctx, operator)),
        reputation=keeper.get_reputation(ctx, operator),
        spans=found.spans,
        active=logic.is_active(found, params, ctx.block.height),
        used_memory_bytes=logic.compute_used_memory(found.spans, per_layer),
        memory_bytes=found.hardware.memory_bytes,
        last_heartbeat_height=found.last_heartbeat_height,
    )


def params(
    ctx: Context, keeper: WorkersKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))


def _load(ctx: Context, keeper: WorkersKeeper, address: str) -> tuple[bytes, types_pb2.Worker]:
    operator = crypto.from_bech32(address)
    found = keeper.get_worker(ctx, operator)
    if found is None:
        raise ErrWorkerNotFound(address)
    return operator, found
