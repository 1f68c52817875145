"""The staking module as the app sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

import structlog

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from infera.staking.v1 import query_pb2, tx_pb2
from modules.staking import abci, genesis, migrations, msg_server, query_server
from modules.staking.keeper import StakingKeeper

log = structlog.get_logger(__name__)

_SVC = "/infera.staking.v1.Query/"


class StakingModule:
    name = "staking"

    def __init__(self, keeper: StakingKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        k = self.keeper
        return (
            MsgRoute(
                "/infera.staking.v1.MsgCreateValidator",
                tx_pb2.MsgCreateValidator,
                lambda ctx, msg: msg_server.create_validator(ctx, k, msg),
                ("operator_address",),
            ),
            MsgRoute(
                "/infera.staking.v1.MsgEditValidator",
                tx_pb2.MsgEditValidator,
                lambda ctx, msg: msg_server.edit_validator(ctx, k, msg),
                ("operator_address",),
            ),
            MsgRoute(
                "/infera.staking.v1.MsgDelegate",
                tx_pb2.MsgDelegate,
                lambda ctx, msg: msg_server.delegate(ctx, k, msg),
                ("delegator_address",),
            ),
            MsgRoute(
                "/infera.staking.v1.MsgUndelegate",
                tx_pb2.MsgUndelegate,
                lambda ctx, msg: msg_server.undelegate(ctx, k, msg),
                ("delegator_address",),
            ),
            MsgRoute(
                "/infera.staking.v1.MsgBeginRedelegate",
                tx_pb2.MsgBeginRedelegate,
                lambda ctx, msg: msg_server.begin_redelegate(ctx, k, msg),
                ("delegator_address",),
            ),
        )

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        return (
            QueryRoute(
                _SVC + "Validators",
                query_pb2.QueryValidatorsRequest,
                lambda ctx, req: query_server.validators(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "Validator",
                query_pb2.QueryValidatorRequest,
                lambda ctx, req: query_server.validator(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "Params",
                query_pb2.QueryParamsRequest,
                lambda ctx, req: query_server.params(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "Delegation",
                query_pb2.QueryDelegationRequest,
                lambda ctx, req: query_server.delegation(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "DelegatorDelegations",
                query_pb2.QueryDelegatorDelegationsRequest,
                lambda ctx, req: query_server.delegator_delegations(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "UnbondingDelegation",
                query_pb2.QueryUnbondingDelegationRequest,
                lambda ctx, req: query_server.unbonding_delegation(ctx, k, req),
            ),
        )

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        return genesis.export_genesis(ctx, self.keeper)

    def begin_block(self, ctx: Context, misbehavior: Sequence[Any]) -> None:
        ran = migrations.run_pending(ctx, self.keeper)  # once: the stored version moves up
        if ran:
            log.info("staking store migrated", from_versions=ran, height=ctx.block.height)
        abci.process_misbehavior(ctx, self.keeper, misbehavior)

    def end_block(self, ctx: Context) -> None:
        abci.process_maturity(ctx, self.keeper)
        abci.process_power_updates(ctx, self.keeper)
