"""The zk module as the app sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from infera.zk.v1 import query_pb2, tx_pb2
from modules.zk import abci, genesis, msg_server, query_server
from modules.zk.keeper import ZkKeeper

_MSG = "/infera.zk.v1."
_SVC = "/infera.zk.v1.Query/"


class ZkModule:
    name = "zk"

    def __init__(self, keeper: ZkKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        k = self.keeper
        return (
            MsgRoute(
                _MSG + "MsgRegisterVerifyingKey",
                tx_pb2.MsgRegisterVerifyingKey,
                lambda ctx, msg: msg_server.register_verifying_key(ctx, k, msg),
                ("owner",),
            ),
            MsgRoute(
                _MSG + "MsgSubmitProof",
                tx_pb2.MsgSubmitProof,
                lambda ctx, msg: msg_server.submit_proof(ctx, k, msg),
                ("prover",),
            ),
        )

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        return (
            QueryRoute(
                _SVC + "VerifyingKey",
                query_pb2.QueryVerifyingKeyRequest,
                lambda ctx, req: query_server.verifying_key(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "JobProof",
                query_pb2.QueryJobProofRequest,
                lambda ctx, req: query_server.job_proof(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "Params",
                query_pb2.QueryParamsRequest,
                lambda ctx, req: query_server.params(ctx, k, req),
            ),
        )

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        return genesis.export_genesis(ctx, self.keeper)

    def begin_block(self, ctx: Context, misbehavior: Sequence[Any]) -> None:
        pass

    def end_block(self, ctx: Context) -> None:
        abci.process_batch(ctx, self.keeper)
