"""What a module gives the app: message handlers, queries, genesis and block hooks.

The app wiring (``chain/wiring.py``) builds each module with the keepers of others it needs
(Cosmos "expected keepers") and registers them here. The framework never imports a module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf.message import Message

from chain.context import Context
from chain.errors import ErrUnknownRequest

MsgHandlerFn = Callable[[Context, Any], Message | None]
QueryHandlerFn = Callable[[Context, Any], Message]


@dataclass(frozen=True)
class MsgRoute:
    """A transaction message type: its protobuf class, handler and the fields naming its signers."""

    type_url: str  # e.g. "/cosmos.bank.v1beta1.MsgSend"
    msg_class: type[Message]
    handler: MsgHandlerFn
    signer_fields: tuple[str, ...]  # bech32 address fields whose keys must sign


@dataclass(frozen=True)
class QueryRoute:
    """A query: gRPC method path (also used as the ABCI query path), request class, handler."""

    path: str  # e.g. "/cosmos.bank.v1beta1.Query/Balance"
    request_class: type[Message]
    handler: QueryHandlerFn


class Module(Protocol):
    """The contract every module fulfils; hooks a module does not need may do nothing."""

    name: str

    def msg_routes(self) -> Sequence[MsgRoute]: ...

    def query_routes(self) -> Sequence[QueryRoute]: ...

    def init_genesis(self, ctx: Context, genesis: dict[str, Any]) -> None: ...

    def export_genesis(self, ctx: Context) -> dict[str, Any]: ...

    def begin_block(self, ctx: Context, misbehavior: Sequence[Any]) -> None: ...

    def end_block(self, ctx: Context) -> None: ...


class Router:
    """Maps message type URLs and query paths to their handlers."""

    def __init__(self) -> None:
        self._msgs: dict[str, MsgRoute] = {}
        self._queries: dict[str, QueryRoute] = {}

    def add_module(self, module: Module) -> None:
        for route in module.msg_routes():
            if route.type_url in self._msgs:
                raise ValueError(f"message {route.type_url} registered twice")
            self._msgs[route.type_url] = route
        for query in module.query_routes():
            if query.path in self._queries:
                raise ValueError(f"query {query.path} registered twice")
            self._queries[query.path] = query

    def msg_route(self, type_url: str) -> MsgRoute:
        route = self._msgs.get(type_url)
        if route is None:
            raise ErrUnknownRequest(f"unrecognized message type {type_url!r}")
        return route

    def query_route(self, path: str) -> QueryRoute:
        query = self._queries.get(path)
        if query is None:
            raise ErrUnknownRequest(f"unknown query path {path!r}")
        return query

    def msg_type_urls(self) -> list[str]:
        return sorted(self._msgs)

    def query_paths(self) -> list[str]:
        return sorted(self._queries)
