"""gov queries."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.errors import ErrNotFound
from chain.pagination import paginate
from infera.gov.v1 import query_pb2, types_pb2
from modules.gov import abci, keys
from modules.gov.errors import ErrUnknownProposal
from modules.gov.keeper import GovKeeper


def _proposal(ctx: Context, keeper: GovKeeper, proposal_id: int) -> types_pb2.Proposal:
    found = keeper.get_proposal(ctx, proposal_id)
    if found is None:
        raise ErrUnknownProposal(str(proposal_id))
    return found


def proposal(
    ctx: Context, keeper: GovKeeper, req: query_pb2.QueryProposalRequest
) -> query_pb2.QueryProposalResponse:
    return query_pb2.QueryProposalResponse(proposal=_proposal(ctx, keeper, req.proposal_id))


def proposals(
    ctx: Context, keeper: GovKeeper, req: query_pb2.QueryProposalsRequest
) -> query_pb2.QueryProposalsResponse:
    """A page of proposals in id order (at most 1000 per page)."""
    found, page = paginate(
        ctx.store, keys.PROPOSAL, req.pagination, lambda _, raw: types_pb2.Proposal.FromString(raw)
    )
    return query_pb2.QueryProposalsResponse(proposals=found, pagination=page)


def vote(
    ctx: Context, keeper: GovKeeper, req: query_pb2.QueryVoteRequest
) -> query_pb2.QueryVoteResponse:
    found = keeper.get_vote(ctx, req.proposal_id, crypto.from_bech32(req.voter))
    if found is None:
        raise ErrNotFound(f"vote of {req.voter} on proposal {req.proposal_id}")
    return query_pb2.QueryVoteResponse(vote=found)


def deposit(
    ctx: Context, keeper: GovKeeper, req: query_pb2.QueryDepositRequest
) -> query_pb2.QueryDepositResponse:
    found = keeper.get_deposit(ctx, req.proposal_id, crypto.from_bech32(req.depositor))
    if found is None:
        raise ErrNotFound(f"deposit of {req.depositor} on proposal {req.proposal_id}")
    return query_pb2.QueryDepositResponse(deposit=found)


def tally_result(
    ctx: Context, keeper: GovKeeper, req: query_pb2.QueryTallyResultRequest
) -> query_pb2.QueryTallyResultResponse:
    """The final tally of a closed proposal; the running tally of one in its voting period
    (bounded like the end-block tally: bonded validators and votes with power)."""
    found = _proposal(ctx, keeper, req.proposal_id)
    if found.status != types_pb2.PROPOSAL_STATUS_VOTING_PERIOD:
        return query_pb2.QueryTallyResultResponse(tally=found.final_tally_result)
    counts, _ = abci.compute_tally(ctx, keeper, req.proposal_id)
    return query_pb2.QueryTallyResultResponse(tally=counts.to_result())


def params(
    ctx: Context, keeper: GovKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))


def current_plan(
    ctx: Context, keeper: GovKeeper, req: query_pb2.QueryCurrentPlanRequest
) -> query_pb2.QueryCurrentPlanResponse:
    plan = keeper.get_plan(ctx)
    return (
        query_pb2.QueryCurrentPlanResponse(plan=plan)
        if plan
        else query_pb2.QueryCurrentPlanResponse()
    )


def applied_plan(
    ctx: Context, keeper: GovKeeper, req: query_pb2.QueryAppliedPlanRequest
) -> query_pb2.QueryAppliedPlanResponse:
    from modules.gov import logic

    if not logic.is_valid_plan_name(req.name):
        return query_pb2.QueryAppliedPlanResponse(height=0)
    return query_pb2.QueryAppliedPlanResponse(height=keeper.get_done_height(ctx, req.name))
