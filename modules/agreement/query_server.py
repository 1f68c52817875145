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
    audit = keeper.get_audit(ctx, job.id)
    if audit is not None:
        response.audit.CopyFrom(audit)
    return response


def open_verifications(
    ctx: Context, keeper: AgreementKeeper, req: query_pb2.QueryOpenVerificationsRequest
) -> query_pb2.QueryOpenVerificationsResponse:
    """Jobs a validator's verifier should check now (see verdicts.py)."""
    from modules.agreement.verdicts import open_job_ids

    return query_pb2.QueryOpenVerificationsResponse(job_ids=open_job_ids(ctx, keeper))


def params(
    ctx: Context, keeper: AgreementKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))
