"""State queries over gRPC: every Router query route, proven store reads, consensus params.

Every handler runs its state reads on the query pool (``chain.grpc.pool``), off every event loop,
over one committed store snapshot (``QueryService.reading``): a query always sees one committed
height, never a block half-applied, and never holds up the loop that executes blocks. A query
picks its height with the ``x-cosmos-block-height`` request header
(as in the Cosmos SDK) and the answer carries the height read in the same response header.
"""

from __future__ import annotations

import re
from typing import Any

import chain.pb  # noqa: F401

import grpc
from google.protobuf.message import DecodeError, Message

from chain.errors import ChainError
from chain.grpc.errors import guarded, invalid, to_abort
from chain.grpc.pool import QueryPool
from chain.module import QueryRoute
from chain.queries import MAX_QUERY_KEY_BYTES
from chain.store.proof import encode_proof
from cosmos.consensus.v1 import query_pb2 as consensus_query
from cosmos.consensus.v1 import query_pb2_grpc as consensus_grpc
from infera.store.v1 import query_pb2 as store_query
from infera.store.v1 import query_pb2_grpc as store_grpc

HEIGHT_HEADER = "x-cosmos-block-height"
MAX_HEIGHT = (1 << 63) - 1
HEIGHT_RE = re.compile(r"[0-9]{1,19}")  # ASCII digits only (never str.isdigit: "²" passes it)


def requested_height(context: grpc.aio.ServicerContext) -> int:
    """The height asked for in the ``x-cosmos-block-height`` header; 0 (latest) without one."""
    for key, value in context.invocation_metadata() or ():
        if key == HEIGHT_HEADER:
            text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
            if not HEIGHT_RE.fullmatch(text.strip(" ")) or int(text) > MAX_HEIGHT:
                raise invalid(f"invalid {HEIGHT_HEADER} header {text!r}: expected a height >= 0")
            return int(text)
    return 0


async def send_height(context: grpc.aio.ServicerContext, height: int) -> None:
    await context.send_initial_metadata(((HEIGHT_HEADER, str(height)),))


class RouterQueries(grpc.GenericRpcHandler):
    """Serves every query route registered in the app's Router, by its gRPC method path.

    Modules added later are served without any change here: the method path of a call is looked
    up in the Router when the call arrives. Requests and responses travel as raw bytes, so a
    malformed request is INVALID_ARGUMENT rather than a deserialization failure.
    """

    def __init__(self, app: Any, pool: QueryPool) -> None:
        self.app, self.pool = app, pool

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        try:
            route = self.app.router.query_route(handler_call_details.method)
        except ChainError:
            return None  # not ours: another handler, or UNIMPLEMENTED
        return grpc.unary_unary_rpc_method_handler(self._behavior(route))

    def _behavior(self, route: QueryRoute) -> Any:
        async def behavior(raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
            try:
                height, answer = await self.pool.run(
                    self.run, route, raw, requested_height(context)
                )
            except Exception as exc:  # noqa: BLE001 - every failure becomes a status
                abort = to_abort(exc)
                await context.abort(abort.code, abort.message)
                raise
            await send_height(context, height)
            return answer

        return behavior

    def run(self, route: QueryRoute, raw: bytes, height: int) -> tuple[int, bytes]:
        """Decode, resolve the height and run the route; (height read, response bytes)."""
        request: Message = route.request_class()
        try:
            request.ParseFromString(raw)
        except DecodeError as exc:
            raise invalid(f"cannot decode {route.request_class.__name__}: {exc}") from None
        resolved, response = self.app.queries.run(route.path, request, height)
        return resolved, response.SerializeToString(deterministic=True)


def service_names(app: Any) -> list[str]:
    """Full names of the services the Router's routes belong to (``cosmos.bank.v1beta1.Query``)."""
    return sorted({path.lstrip("/").split("/")[0] for path in app.router.query_paths()})


class StoreQueries(store_grpc.QueryServicer):
    """``infera.store.v1.Query``: a state value with its Merkle proof."""

    def __init__(self, app: Any, pool: QueryPool) -> None:
        self.app, self.pool = app, pool

    @guarded
    async def Proven(  # noqa: N802 - gRPC method name
        self, request: store_query.QueryProvenRequest, context: grpc.aio.ServicerContext
    ) -> store_query.QueryProvenResponse:
        key = bytes(request.key)
        if not key or len(key) > MAX_QUERY_KEY_BYTES:
            raise invalid(f"key must be 1..{MAX_QUERY_KEY_BYTES} bytes, got {len(key)}")
        if request.height < 0:
            raise invalid(f"negative height {request.height}")
        height, value, proof = await self.pool.run(self._prove, key, request.height)
        await send_height(context, height)
        return store_query.QueryProvenResponse(
            value=value or b"", exists=value is not None, proof=encode_proof(proof), height=height
        )

    def _prove(self, key: bytes, height: int) -> tuple[int, bytes | None, Any]:
        resolved = self.app.queries.resolve_height(height)
        value, proof = self.app.store.prove(key, resolved)
        return resolved, value, proof


class ConsensusQueries(consensus_grpc.QueryServicer):
    """``cosmos.consensus.v1.Query/Params``: the consensus params set at genesis (block max gas)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    @guarded
    async def Params(  # noqa: N802 - gRPC method name
        self, request: consensus_query.QueryParamsRequest, context: grpc.aio.ServicerContext
    ) -> consensus_query.QueryParamsResponse:
        return consensus_query.QueryParamsResponse(params=self.app.consensus_params())
