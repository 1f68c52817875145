"""agreement queries: a job's full history (auditors) and params."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.context import Context
from infera.agreement.v1 import query_pb2
from modules.agreement.errors import ErrJobNotFound
from modules.agreement.keeper import AgreementKeeper


def job_history(
    ctx: Context, keeper: AgreementKeeper, req: query_pb2.QueryJobHistoryRequest
) -> query_pb2.QueryJobHistoryResponse:
    job = keeper.inference.get_job(ctx, req.job_id)
    if job is None:
        raise ErrJobNotFound(f"job {req.job_id}")
    response = query_pb2.QueryJobHistoryResponse(
        job=job,
        commitments=list(keeper.iterate_commitments(ctx, job.id)),
        reveals=list(keeper.iterate_reveals(ctx, job.id)),
        outputs=list(keeper.iterate_outputs(ctx, job.id)),
        votes=list(keeper.iterate_votes(ctx, job.id)),
    )
    dispute = keeper.get_dispute(ctx, job.id)
    if dispute is not None:
        response.dispute.CopyFrom(dispute)
    settlement = keeper.get_settlement(ctx, job.id)
    if settlement is not None:
        response.settlement.CopyFrom(settlement)
    return response


def params(
    ctx: Context, keeper: AgreementKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))
