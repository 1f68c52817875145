"""The slashing (liveness) module as the app sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

import structlog

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from infera.slashing.v1 import query_pb2, tx_pb2
from modules.slashing import abci, genesis, msg_server, query_server
from modules.slashing.keeper import SlashingKeeper

log = structlog.get_logger(__name__)

_SVC = "/infera.slashing.v1.Query/"


class SlashingModule:
    name = "slashing"

    def __init__(self, keeper: SlashingKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        k = self.keeper
        return (
            MsgRoute(
                "/infera.slashing.v1.MsgUnjail",
                tx_pb2.MsgUnjail,
                lambda ctx, msg: msg_server.unjail(ctx, k, msg),
                ("validator_address",),
            ),
        )

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        return (
            QueryRoute(
                _SVC + "Params",
                query_pb2.QueryParamsRequest,
                lambda ctx, req: query_server.params(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "SigningInfo",
                query_pb2.QuerySigningInfoRequest,
                lambda ctx, req: query_server.signing_info(ctx, k, req),
            ),
        )

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        return genesis.export_genesis(ctx, self.keeper)

    def begin_block(self, ctx: Context, misbehavior: Sequence[Any]) -> None:
        if genesis.run_pending(ctx, self.keeper):
            log.info("slashing params initialized", height=ctx.block.height)
        abci.process_liveness(ctx, self.keeper)

    def end_block(self, ctx: Context) -> None:
        pass
