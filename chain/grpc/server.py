"""The node's gRPC server (Cosmos SDK convention :9090): what cosmpy and auditors talk to.

It runs on ``grpc.aio`` in an event loop on a thread of its own (``pool.ServerThread``), never on
the loop that serves ABCI, and every handler that reads state runs it on the bounded query pool
(``pool.QueryPool``) over one committed store snapshot: no query, however slow, delays a block,
and none sees a block half-committed. Served:

- every query route in the app's Router, by method path (``RouterQueries``): auth, bank and
  every ``infera.*.v1.Query`` service, including modules added later;
- ``cosmos.tx.v1beta1.Service`` (``TxService``), ``cosmos.base.tendermint.v1beta1.Service``
  (``NodeService``), ``cosmos.consensus.v1.Query/Params`` and ``infera.store.v1.Query/Proven``;
- gRPC server reflection (every service above, from the generated descriptors) and the standard
  ``grpc.health.v1.Health`` service.

While it runs, the fixed services above are also answered through ABCI ``Query`` (path = full
method name), as the Cosmos SDK's GRPCQueryRouter does (``abci_routes``): cosmjs needs it.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from typing import Any

import chain.pb  # noqa: F401

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from chain.grpc.abci_routes import GrpcQueryRouter
from chain.grpc.comet import AsyncComet
from chain.grpc.decode import DecodeChecked
from chain.grpc.node_service import NodeService
from chain.grpc.pool import QueryPool, ServerThread
from chain.grpc.queries import ConsensusQueries, RouterQueries, StoreQueries, service_names
from chain.grpc.tx_service import TxService
from cosmos.base.tendermint.v1beta1 import query_pb2 as tm_pb2
from cosmos.base.tendermint.v1beta1 import query_pb2_grpc as tm_grpc
from cosmos.consensus.v1 import query_pb2 as consensus_pb2
from cosmos.consensus.v1 import query_pb2_grpc as consensus_grpc
from cosmos.tx.v1beta1 import service_pb2 as tx_pb2
from cosmos.tx.v1beta1 import service_pb2_grpc
from infera.store.v1 import query_pb2 as store_pb2
from infera.store.v1 import query_pb2_grpc as store_grpc

log = structlog.get_logger("chain.grpc")

MAX_MESSAGE_BYTES = 16 << 20  # largest request or response (a block with many txs)
FIXED_SERVICES = (
    "cosmos.tx.v1beta1.Service",
    "cosmos.base.tendermint.v1beta1.Service",
    "cosmos.consensus.v1.Query",
    "infera.store.v1.Query",
)


def load_infera_descriptors() -> None:
    """Import every generated ``infera.*`` module so reflection can describe its services."""
    import infera

    for module in pkgutil.walk_packages(infera.__path__, prefix="infera."):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)


class GrpcServer:
    """A started server; ``stop()`` shuts it down (in-flight calls get a short grace period)."""

    def __init__(
        self,
        server: grpc.aio.Server,
        comet: AsyncComet,
        pool: QueryPool,
        thread: ServerThread,
        address: str,
        port: int,
    ) -> None:
        self.server = server
        self.comet = comet
        self.pool = pool  # where queries and simulations run
        self.thread = thread  # the event loop the server runs on
        self.address = address
        self.port = port  # the bound port (useful when the address asked for port 0)
        self.services: list[str] = []
        self.app_queries: Any = None  # the app's QueryService, whose grpc_routes we set

    async def stop(self, grace: float = 2.0) -> None:
        """Stop serving (callable from any event loop), then end the server's thread."""
        if getattr(self.app_queries, "grpc_routes", None) is not None:
            self.app_queries.grpc_routes = None  # ABCI Query no longer routes to this server
        await self.thread.submit(self.server.stop(grace))
        self.comet.close()
        self.pool.close()
        await self.thread.close()
        log.info("gRPC server stopped", address=self.address)


async def build_server(
    app: Any, comet: AsyncComet, pool: QueryPool
) -> tuple[grpc.aio.Server, list[str]]:
    """A grpc.aio server with every service registered (not started); and the service names."""
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.so_reuseport", 0),
    ]
    server = grpc.aio.server(options=options)
    servicers = (
        (TxService(app, comet, pool), service_pb2_grpc.add_ServiceServicer_to_server, tx_pb2),
        (NodeService(app, comet, pool), tm_grpc.add_ServiceServicer_to_server, tm_pb2),
        (ConsensusQueries(app), consensus_grpc.add_QueryServicer_to_server, consensus_pb2),
        (StoreQueries(app, pool), store_grpc.add_QueryServicer_to_server, store_pb2),
    )
    # The same servicers answer ABCI Query too (cosmjs: Simulate for the "auto" fee).
    abci_routes = GrpcQueryRouter(asyncio.get_running_loop(), lambda: app.store.last_height)
    for servicer, add, descriptors in servicers:
        add(servicer, DecodeChecked(server))
        for service in descriptors.DESCRIPTOR.services_by_name.values():
            abci_routes.add_servicer(servicer, service)
    app.queries.grpc_routes = abci_routes
    server.add_generic_rpc_handlers((RouterQueries(app, pool),))
    served = sorted(set(FIXED_SERVICES) | set(service_names(app)))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, DecodeChecked(server))
    for name in ["", *served]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    load_infera_descriptors()
    names = [*served, health.SERVICE_NAME, reflection.SERVICE_NAME]
    reflection.enable_server_reflection(names, server)
    return server, names


async def start_grpc_server(app: Any, address: str, cometbft_rpc_url: str) -> GrpcServer:
    """Bind ``address`` (host:port) and start serving on a thread of its own; the server.

    Awaitable from any event loop (the node's, which also serves ABCI). ``cometbft_rpc_url``
    (``http://host:port``) is where BroadcastTx, GetTx, blocks and node info are forwarded.
    """
    thread = ServerThread()
    try:
        return await thread.submit(_start(app, address, cometbft_rpc_url, thread))
    except BaseException:
        await thread.close()
        raise


async def _start(app: Any, address: str, cometbft_rpc_url: str, thread: ServerThread) -> GrpcServer:
    """On the server's own loop: build, bind and start."""
    comet, pool = AsyncComet(cometbft_rpc_url), QueryPool()
    server, names = await build_server(app, comet, pool)
    port = server.add_insecure_port(address)
    if port == 0:
        app.queries.grpc_routes = None
        comet.close()
        pool.close()
        raise OSError(f"cannot bind the gRPC server to {address}")
    await server.start()
    running = GrpcServer(server, comet, pool, thread, address, port)
    running.services = names
    running.app_queries = app.queries
    log.info("gRPC server started", address=address, port=port, services=len(names))
    return running
