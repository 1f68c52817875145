"""The agreement module as the app sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from infera.agreement.v1 import query_pb2, tx_pb2
from modules.agreement import abci, genesis, msg_server, query_server
from modules.agreement.keeper import AgreementKeeper

_SVC = "/infera.agreement.v1.Query/"


class AgreementModule:
    name = "agreement"

    def __init__(self, keeper: AgreementKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        k = self.keeper
        return (
            MsgRoute(
                "/infera.agreement.v1.MsgCommitOutput",
                tx_pb2.MsgCommitOutput,
                lambda ctx, msg: msg_server.commit_output(ctx, k, msg),
                ("worker",),
            ),
            MsgRoute(
                "/infera.agreement.v1.MsgRevealOutput",
                tx_pb2.MsgRevealOutput,
                lambda ctx, msg: msg_server.reveal_output(ctx, k, msg),
                ("worker",),
            ),
            MsgRoute(
                "/infera.agreement.v1.MsgContestSeal",
                tx_pb2.MsgContestSeal,
                lambda ctx, msg: msg_server.contest_seal(ctx, k, msg),
                ("worker",),
            ),
        )

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        return (
            QueryRoute(
                _SVC + "JobHistory",
                query_pb2.QueryJobHistoryRequest,
                lambda ctx, req: query_server.job_history(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "Params",
                query_pb2.QueryParamsRequest,
                lambda ctx, req: query_server.params(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "OpenVerifications",
                query_pb2.QueryOpenVerificationsRequest,
                lambda ctx, req: query_server.open_verifications(ctx, k, req),
            ),
        )

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        return genesis.export_genesis(ctx, self.keeper)

    def begin_block(self, ctx: Context, misbehavior: Sequence[Any]) -> None:
        pass

    def end_block(self, ctx: Context) -> None:
        abci.process_due_rounds(ctx, self.keeper)
