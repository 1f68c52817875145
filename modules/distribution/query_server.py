"""distribution queries."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from infera.distribution.v1 import query_pb2
from modules.distribution import rewards
from modules.distribution.keeper import DistributionKeeper


def params(
    ctx: Context, keeper: DistributionKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))


def delegation_rewards(
    ctx: Context, keeper: DistributionKeeper, req: query_pb2.QueryDelegationRewardsRequest
) -> query_pb2.QueryDelegationRewardsResponse:
    delegator = crypto.from_bech32(req.delegator_address)
    operator = crypto.from_bech32(req.validator_address)
    amount = rewards.compute_pending(ctx, keeper, operator, delegator)
    return query_pb2.QueryDelegationRewardsResponse(amount=str(amount))


def validator_commission(
    ctx: Context, keeper: DistributionKeeper, req: query_pb2.QueryValidatorCommissionRequest
) -> query_pb2.QueryValidatorCommissionResponse:
    amount = keeper.get_commission(ctx, crypto.from_bech32(req.validator_address))
    return query_pb2.QueryValidatorCommissionResponse(amount=str(amount))


def validator_outstanding(
    ctx: Context,
    keeper: DistributionKeeper,
    req: query_pb2.QueryValidatorOutstandingRewardsRequest,
) -> query_pb2.QueryValidatorOutstandingRewardsResponse:
    amount = keeper.get_outstanding(ctx, crypto.from_bech32(req.validator_address))
    return query_pb2.QueryValidatorOutstandingRewardsResponse(amount=str(amount))


def community_pool(
    ctx: Context, keeper: DistributionKeeper, req: query_pb2.QueryCommunityPoolRequest
) -> query_pb2.QueryCommunityPoolResponse:
    return query_pb2.QueryCommunityPoolResponse(amount=str(keeper.get_community_pool(ctx)))
