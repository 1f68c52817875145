"""The sharding module as the app sees it (queries only; no messages, no block hooks)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import chain.pb  # noqa: F401

from google.protobuf.message import Message

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from infera.sharding.v1 import query_pb2
from modules.sharding import genesis, query_server
from modules.sharding.keeper import ShardingKeeper

_SVC = "/infera.sharding.v1.Query/"


class ShardingModule:
    name = "sharding"

    def __init__(self, keeper: ShardingKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        return ()

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        handlers = (
            ("Coverage", query_pb2.QueryCoverageRequest, query_server.coverage),
            ("SuggestSpan", query_pb2.QuerySuggestSpanRequest, query_server.suggest_span),
            ("Routes", query_pb2.QueryRoutesRequest, query_server.routes),
            ("Params", query_pb2.QueryParamsRequest, query_server.params),
        )
        return tuple(QueryRoute(_SVC + name, cls, _bind(fn, k)) for name, cls, fn in handlers)

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        return genesis.export_genesis(ctx, self.keeper)

    def begin_block(self, ctx: Context, misbehavior: Sequence[Any]) -> None:
        pass

    def end_block(self, ctx: Context) -> None:
        pass


def _bind(
    handler: Callable[[Context, ShardingKeeper, Any], Message], keeper: ShardingKeeper
) -> Callable[[Context, Any], Message]:
    """A router handler calling ``handler`` with the module's keeper."""
    return lambda ctx, request: handler(ctx, keeper, request)
