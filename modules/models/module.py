"""The models module as the app sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from infera.models.v1 import query_pb2, tx_pb2
from modules.models import genesis, msg_server, query_server
from modules.models.keeper import ModelsKeeper

_MSG = "/infera.models.v1."
_SVC = "/infera.models.v1.Query/"


class ModelsModule:
    name = "models"

    def __init__(self, keeper: ModelsKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        k = self.keeper
        return (
            MsgRoute(
                _MSG + "MsgRegisterModel",
                tx_pb2.MsgRegisterModel,
                lambda ctx, msg: msg_server.register_model(ctx, k, msg),
                ("owner",),
            ),
            MsgRoute(
                _MSG + "MsgUpdateModel",
                tx_pb2.MsgUpdateModel,
                lambda ctx, msg: msg_server.update_model(ctx, k, msg),
                ("owner",),
            ),
            MsgRoute(
                _MSG + "MsgRetireModel",
                tx_pb2.MsgRetireModel,
                lambda ctx, msg: msg_server.retire_model(ctx, k, msg),
                ("owner",),
            ),
        )

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        return (
            QueryRoute(
                _SVC + "Model",
                query_pb2.QueryModelRequest,
                lambda ctx, req: query_server.model(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "Models",
                query_pb2.QueryModelsRequest,
                lambda ctx, req: query_server.models(ctx, k, req),
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
