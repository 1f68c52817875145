"""The bank module as the app sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from cosmos.bank.v1beta1 import query_pb2, tx_pb2
from modules.bank import genesis, msg_server, query_server
from modules.bank.keeper import BankKeeper


class BankModule:
    name = "bank"

    def __init__(self, keeper: BankKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        return (
            MsgRoute(
                "/cosmos.bank.v1beta1.MsgSend",
                tx_pb2.MsgSend,
                lambda ctx, msg: msg_server.send(ctx, self.keeper, msg),
                ("from_address",),
            ),
        )

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        return (
            QueryRoute(
                "/cosmos.bank.v1beta1.Query/Balance",
                query_pb2.QueryBalanceRequest,
                lambda ctx, req: query_server.balance(ctx, k, req),
            ),
            QueryRoute(
                "/cosmos.bank.v1beta1.Query/AllBalances",
                query_pb2.QueryAllBalancesRequest,
                lambda ctx, req: query_server.all_balances(ctx, k, req),
            ),
            QueryRoute(
                "/cosmos.bank.v1beta1.Query/TotalSupply",
                query_pb2.QueryTotalSupplyRequest,
                lambda ctx, req: query_server.total_supply(ctx, k, req),
            ),
            QueryRoute(
                "/cosmos.bank.v1beta1.Query/Params",
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
