"""The tee module as the app sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from infera.tee.v1 import query_pb2, tx_pb2
from modules.tee import genesis, msg_server, query_server
from modules.tee.keeper import TeeKeeper

_MSG = "/infera.tee.v1."
_SVC = "/infera.tee.v1.Query/"


class TeeModule:
    name = "tee"

    def __init__(self, keeper: TeeKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        k = self.keeper
        return (
            MsgRoute(
                _MSG + "MsgAttest",
                tx_pb2.MsgAttest,
                lambda ctx, msg: msg_server.attest(ctx, k, msg),
                ("operator",),
            ),
            MsgRoute(
                _MSG + "MsgSetModelRequirement",
                tx_pb2.MsgSetModelRequirement,
                lambda ctx, msg: msg_server.set_model_requirement(ctx, k, msg),
                ("owner",),
            ),
        )

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        return (
            QueryRoute(
                _SVC + "Attestation",
                query_pb2.QueryAttestationRequest,
                lambda ctx, req: query_server.attestation(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "ModelRequirement",
                query_pb2.QueryModelRequirementRequest,
                lambda ctx, req: query_server.model_requirement(ctx, k, req),
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
        pass
