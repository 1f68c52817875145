"""The REST (LCD) server: the Cosmos grpc-gateway paths over the node's gRPC port (docs/rest.md).

At the first request (or at startup) it asks the node's gRPC reflection which services it serves
and builds the route table from their descriptors (``chain.rest.routes``). Each request is
matched, turned into the protobuf request (``chain.rest.convert``), sent to the node's gRPC port
and answered as the SDK's JSON; errors are ``{code, message, details}`` (``chain.rest.errors``).
The explorer (``chain.explorer``) is mounted on the same server unless switched off.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import structlog
from google.protobuf.message import DecodeError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from chain.rest.caller import HEIGHT_HEADER, GrpcCaller
from chain.rest.convert import request_from_body, request_from_params, to_json
from chain.rest.errors import RestError, bad_request, not_found, too_large
from chain.rest.routes import Route as RestRoute
from chain.rest.routes import build_routes, match_route

log = structlog.get_logger("rest")
HEIGHT_RE = re.compile(r"[0-9]{1,19}")  # fullmatch
RESPONSE_HEIGHT_HEADER = "Grpc-Metadata-X-Cosmos-Block-Height"  # as the SDK's gateway names it


@dataclass(frozen=True)
class Settings:
    """How the REST server serves."""

    grpc_address: str  # the node's gRPC host:port
    max_body_bytes: int = 1 << 20  # POST body, bytes (a tx in base64 plus JSON)
    max_path_bytes: int = 2048  # request path, bytes
    max_query_bytes: int = 8192  # query string, bytes
    timeout_s: float = 30.0  # one gRPC call, seconds
    explorer: bool = True  # serve the explorer under /explorer
    explorer_refresh_s: int = 5  # the explorer pages' auto-refresh period, seconds
    cors: bool = False  # answer any web origin (the SDK's enabled-unsafe-cors), for browser wallets


class RestServer:
    """The request handling: route table (built once) and the gRPC caller."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.caller: GrpcCaller | None = None
        self.routes: list[RestRoute] | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        self.caller = GrpcCaller(self.settings.grpc_address, self.settings.timeout_s)

    async def close(self) -> None:
        if self.caller is not None:
            await self.caller.close()

    def grpc(self) -> GrpcCaller:
        if self.caller is None:
            raise RestError(grpc.StatusCode.UNAVAILABLE, "the server is not started")
        return self.caller

    async def table(self) -> list[RestRoute]:
        """The route table, built from the node's reflection on first use."""
        async with self._lock:
            if self.routes is None:
                services = await self.grpc().services()
                self.routes = build_routes(services)
                log.info("REST routes built", services=len(services), routes=len(self.routes))
            return self.routes

    async def handle(self, request: Request) -> Response:
        try:
            return await self.answer(request)
        except RestError as err:
            return JSONResponse(err.body(), status_code=err.http_status)
        except Exception:  # noqa: BLE001 - a bug; the caller gets a 500, the log the trace
            log.exception("REST request failed", path=request.url.path[:200])
            body = RestError(grpc.StatusCode.INTERNAL, "internal error").body()
            return JSONResponse(body, status_code=500)

    async def answer(self, request: Request) -> Response:
        path = request.url.path
        check_sizes(request, self.settings)
        match, other_method = match_route(await self.table(), request.method, path)
        if match is None:
            if other_method:
                raise RestError(grpc.StatusCode.UNIMPLEMENTED, f"method {request.method} not allowed on {path}", 405)  # fmt: skip
            raise not_found(f"no route {path[:200]}")
        route = match.route
        message = route.request_class()
        if route.body:
            request_from_body(
                message, await read_body(request, self.settings.max_body_bytes), route.body
            )
            request_from_params(message, match.values, ())  # fmt: skip
        else:
            request_from_params(message, match.values, request.query_params.multi_items())
        raw, height = await self.grpc().call_raw(route.grpc_path, message.SerializeToString(), requested_height(request))  # fmt: skip
        response = route.response_class()
        try:
            response.ParseFromString(raw)
        except DecodeError as err:
            raise RestError(grpc.StatusCode.INTERNAL, f"undecodable answer: {err}") from None
        headers = {RESPONSE_HEIGHT_HEADER: str(height)} if height else {}
        return JSONResponse(to_json(response), headers=headers)


def check_sizes(request: Request, settings: Settings) -> None:
    if len(request.url.path.encode()) > settings.max_path_bytes:
        raise too_large(f"the path exceeds {settings.max_path_bytes} bytes")
    if len(request.url.query.encode()) > settings.max_query_bytes:
        raise too_large(f"the query string exceeds {settings.max_query_bytes} bytes")


def requested_height(request: Request) -> int:
    """The ``x-cosmos-block-height`` request header (0: latest)."""
    text = request.headers.get(HEIGHT_HEADER)
    if text is None:
        return 0
    if not HEIGHT_RE.fullmatch(text.strip(" ")) or int(text) > (1 << 63) - 1:
        raise bad_request(f"invalid {HEIGHT_HEADER} header {text[:40]!r}: expected a height >= 0")
    return int(text)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, read only up to ``max_bytes`` + 1 bytes (a huge body is never buffered)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large(f"the body exceeds {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(settings: Settings) -> Starlette:
    """The REST server (and the explorer, with ``settings.explorer``) over one node's gRPC."""
    server = RestServer(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await server.open()
        try:
            yield
        finally:
            await server.close()

    routes: list[BaseRoute] = []
    if settings.explorer:
        from chain.explorer.app import explorer_routes

        routes.extend(explorer_routes(server.grpc, settings.explorer_refresh_s))
        routes.append(Route("/", lambda request: RedirectResponse("/explorer"), methods=["GET"]))
    routes.append(Route("/{path:path}", server.handle, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]))  # fmt: skip
    middleware = []
    if settings.cors:
        middleware.append(Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"],
                                     allow_headers=["*"], expose_headers=[RESPONSE_HEIGHT_HEADER]))  # fmt: skip
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.rest = server
    return app
