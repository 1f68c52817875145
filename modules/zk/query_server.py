"""zk queries: a key, a job's proof record (the result and its verdict), params."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.context import Context
from infera.zk.v1 import query_pb2
from modules.zk.errors import ErrKeyNotFound, ErrProofNotFound
from modules.zk.keeper import ZkKeeper


def verifying_key(
    ctx: Context, keeper: ZkKeeper, req: query_pb2.QueryVerifyingKeyRequest
) -> query_pb2.QueryVerifyingKeyResponse:
    found = keeper.get_key(ctx, req.id) if len(req.id.encode()) <= 64 else None
    if found is None:
        raise ErrKeyNotFound(repr(req.id)[:80])
    return query_pb2.QueryVerifyingKeyResponse(key=found)


def job_proof(
    ctx: Context, keeper: ZkKeeper, req: query_pb2.QueryJobProofRequest
) -> query_pb2.QueryJobProofResponse:
    found = keeper.get_record(ctx, req.job_id)
    if found is None:
        raise ErrProofNotFound(str(req.job_id))
    return query_pb2.QueryJobProofResponse(record=found)


def params(
    ctx: Context, keeper: ZkKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))
