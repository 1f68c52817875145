"""The inference module as the app sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from infera.inference.v1 import query_pb2, tx_pb2
from modules.inference import abci, genesis, msg_server, query_server
from modules.inference.keeper import InferenceKeeper

_SVC = "/infera.inference.v1.Query/"


class InferenceModule:
    name = "inference"

    def __init__(self, keeper: InferenceKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        k = self.keeper
        return (
            MsgRoute(
                "/infera.inference.v1.MsgSubmitJob",
                tx_pb2.MsgSubmitJob,
                lambda ctx, msg: msg_server.submit_job(ctx, k, msg),
                ("submitter",),
            ),
            MsgRoute(
                "/infera.inference.v1.MsgCancelJob",
                tx_pb2.MsgCancelJob,
                lambda ctx, msg: msg_server.cancel_job(ctx, k, msg),
                ("submitter",),
            ),
            MsgRoute(
                "/infera.inference.v1.MsgSealPrompt",
                tx_pb2.MsgSealPrompt,
                lambda ctx, msg: msg_server.seal_prompt(ctx, k, msg),
                ("submitter",),
            ),
            MsgRoute(
                "/infera.inference.v1.MsgDiscloseSealedJob",
                tx_pb2.MsgDiscloseSealedJob,
                lambda ctx, msg: msg_server.disclose_sealed_job(ctx, k, msg),
                ("submitter",),
            ),
        )

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        return (
            QueryRoute(
                _SVC + "Job",
                query_pb2.QueryJobRequest,
                lambda ctx, req: query_server.job(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "Jobs",
                query_pb2.QueryJobsRequest,
                lambda ctx, req: query_server.jobs(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "Params",
                query_pb2.QueryParamsRequest,
                lambda ctx, req: query_server.params(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "JobSeals",
                query_pb2.QueryJobSealsRequest,
                lambda ctx, req: query_server.job_seals(ctx, k, req),
            ),
        )

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        return genesis.export_genesis(ctx, self.keeper)

    def begin_block(self, ctx: Context, misbehavior: Sequence[Any]) -> None:
        pass

    def end_block(self, ctx: Context) -> None:
        abci.process_assignments(ctx, self.keeper)
        abci.process_seal_timeouts(ctx, self.keeper)
        abci.process_deadlines(ctx, self.keeper)
