"""The auth module as the app sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from cosmos.auth.v1beta1 import query_pb2
from modules.auth import genesis, query_server
from modules.auth.keeper import AccountKeeper


class AuthModule:
    name = "auth"

    def __init__(self, keeper: AccountKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        return ()

    def query_routes(self) -> Sequence[QueryRoute]:
        return (
            QueryRoute(
                "/cosmos.auth.v1beta1.Query/Account",
                query_pb2.QueryAccountRequest,
                lambda ctx, req: query_server.account(ctx, self.keeper, req),
            ),
            QueryRoute(
                "/cosmos.auth.v1beta1.Query/Accounts",
                query_pb2.QueryAccountsRequest,
                lambda ctx, req: query_server.accounts(ctx, self.keeper, req),
            ),
            QueryRoute(
                "/cosmos.auth.v1beta1.Query/Params",
                query_pb2.QueryParamsRequest,
                lambda ctx, req: query_server.params(ctx, self.keeper, req),
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
