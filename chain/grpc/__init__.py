"""The node's gRPC server: Cosmos SDK services for cosmpy, Infera queries and proven reads.

``start_grpc_server(app, address, cometbft_rpc_url)`` starts it in the running event loop (the
ABCI server's). See ``server.py`` for what is served and ``errors.py`` for the status mapping.
"""

from chain.grpc.server import GrpcServer, build_server, start_grpc_server

__all__ = ["GrpcServer", "build_server", "start_grpc_server"]
