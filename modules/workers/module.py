"""The workers module as the app sees it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import chain.pb  # noqa: F401

from google.protobuf.message import Message

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from infera.workers.v1 import query_pb2, tx_pb2
from modules.workers import abci, genesis, msg_server, query_server
from modules.workers.keeper import WorkersKeeper

_MSG = "/infera.workers.v1."
_SVC = "/infera.workers.v1.Query/"


class WorkersModule:
    name = "workers"

    def __init__(self, keeper: WorkersKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        k = self.keeper
        handlers = (
            ("MsgRegisterWorker", tx_pb2.MsgRegisterWorker, msg_server.register_worker),
            ("MsgUpdateWorker", tx_pb2.MsgUpdateWorker, msg_server.update_worker),
            ("MsgServeSpan", tx_pb2.MsgServeSpan, msg_server.serve_span),
            ("MsgStopServing", tx_pb2.MsgStopServing, msg_server.stop_serving),
            ("MsgHeartbeat", tx_pb2.MsgHeartbeat, msg_server.heartbeat),
            ("MsgUnbondWorker", tx_pb2.MsgUnbondWorker, msg_server.unbond_worker),
        )
        return tuple(
            MsgRoute(_MSG + name, cls, _bind(fn, k), ("operator",)) for name, cls, fn in handlers
        )

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        handlers = (
            ("Worker", query_pb2.QueryWorkerRequest, query_server.worker),
            ("Workers", query_pb2.QueryWorkersRequest, query_server.workers),
            ("WorkerStats", query_pb2.QueryWorkerStatsRequest, query_server.worker_stats),
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
        abci.process_mature_unbondings(ctx, self.keeper)


def _bind(
    handler: Callable[[Context, WorkersKeeper, Any], Message], keeper: WorkersKeeper
) -> Callable[[Context, Any], Message]:
    """A router handler calling ``handler`` with the module's keeper."""
    return lambda ctx, request: handler(ctx, keeper, request)
