"""The distribution module as the app sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

import structlog

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from infera.distribution.v1 import query_pb2, tx_pb2
from modules.distribution import abci, genesis, msg_server, query_server
from modules.distribution.keeper import DistributionKeeper

log = structlog.get_logger(__name__)

_SVC = "/infera.distribution.v1.Query/"


class DistributionModule:
    name = "distribution"

    def __init__(self, keeper: DistributionKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        k = self.keeper
        return (
            MsgRoute(
                "/infera.distribution.v1.MsgWithdrawDelegatorReward",
                tx_pb2.MsgWithdrawDelegatorReward,
                lambda ctx, msg: msg_server.withdraw_delegator_reward(ctx, k, msg),
                ("delegator_address",),
            ),
            MsgRoute(
                "/infera.distribution.v1.MsgWithdrawValidatorCommission",
                tx_pb2.MsgWithdrawValidatorCommission,
                lambda ctx, msg: msg_server.withdraw_validator_commission(ctx, k, msg),
                ("validator_address",),
            ),
        )

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        routes = (
            ("Params", query_pb2.QueryParamsRequest, query_server.params),
            (
                "DelegationRewards",
                query_pb2.QueryDelegationRewardsRequest,
                query_server.delegation_rewards,
            ),
            (
                "ValidatorCommission",
                query_pb2.QueryValidatorCommissionRequest,
                query_server.validator_commission,
            ),
            (
                "ValidatorOutstandingRewards",
                query_pb2.QueryValidatorOutstandingRewardsRequest,
                query_server.validator_outstanding,
            ),
            ("CommunityPool", query_pb2.QueryCommunityPoolRequest, query_server.community_pool),
        )
        return tuple(
            QueryRoute(_SVC + name, request, _bind(handler, k)) for name, request, handler in routes
        )

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        return genesis.export_genesis(ctx, self.keeper)

    def begin_block(self, ctx: Context, misbehavior: Sequence[Any]) -> None:
        if genesis.run_pending(ctx, self.keeper):
            log.info("distribution accounting started", height=ctx.block.height)
        abci.allocate_fees(ctx, self.keeper)

    def end_block(self, ctx: Context) -> None:
        pass


def _bind(handler: Any, keeper: DistributionKeeper) -> Any:
    return lambda ctx, req: handler(ctx, keeper, req)
