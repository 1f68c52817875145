"""agreement end-block: advance the rounds that are due, at most max_settlements_per_block.

A due job in its commit round moves to REVEALING (or, when nobody committed, is tallied at once:
nobody can reveal); a due job in its reveal round is tallied; a due FINALIZED job is an audited
one whose audit window ended, a due DISPUTED one a dispute whose verdict window ended (extended,
or closed undecided with a refund: verifications.py). Jobs
that no longer need the entry (tallied at their deadline, say) are dropped. Each job runs on its
own branch.
"""

from __future__ import annotations

import chain.pb  # noqa: F401

import structlog

from chain.context import Context
from infera.inference.v1 import types_pb2 as inference_pb2
from modules.agreement import msg_server, settlement, verifications
from modules.agreement.keeper import AgreementKeeper

J = inference_pb2
log = structlog.get_logger("modules.agreement")


def process_due_rounds(ctx: Context, keeper: AgreementKeeper) -> None:
    """Advance every due job. Fault barrier: a job whose step raises (a bug, or state no rule
    foresaw) loses that step's branch and is unscheduled, so it neither stops FinalizeBlock nor
    fails again every block; the inference deadline then closes it with a refund."""
    params = keeper.get_params(ctx)
    for job_id in keeper.due_job_ids(ctx, ctx.block.height, params.max_settlements_per_block):
        child, cache = ctx.branch()
        try:
            advance_round(child, keeper, job_id)
        except Exception:
            log.exception("advancing a job's round failed; unscheduled", job_id=job_id)
            child, cache = ctx.branch()
            keeper.unschedule(child, job_id)
        cache.write()
        ctx.events.extend(child.events)


def advance_round(ctx: Context, keeper: AgreementKeeper, job_id: int) -> None:
    """Close the commit round or tally the job, whichever round it is in."""
    job = keeper.inference.get_job(ctx, job_id)
    if keeper.get_verification(ctx, job_id) is not None:
        verifications.close_window(ctx, keeper, job_id)  # a dispute's or audit's verdict window
        return
    if job is None or job.state not in msg_server.COMMIT_STATES + (J.JOB_STATE_REVEALING,):
        keeper.unschedule(ctx, job_id)
        return
    if job.state == J.JOB_STATE_REVEALING:
        settlement.settle_job(ctx, keeper, job)
    elif any(True for _ in keeper.iterate_commitments(ctx, job_id)):
        msg_server.open_reveals(ctx, keeper, job)
        keeper.inference.set_job(ctx, job)
    else:
        settlement.settle_job(ctx, keeper, job)
