"""An in-process gRPC server over a TestChain, plus a fake CometBFT JSON-RPC endpoint.

``start_grpc_server`` is awaited on an event loop on a background thread, as a node awaits it on
the loop that serves ABCI; the server itself then runs on a thread and loop of its own, with
queries on its query pool. Blocks are produced on the first loop (``GrpcHarness.block``), like
CometBFT's requests in a node; queries read committed snapshots, so they never race a block.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import chain.pb  # noqa: F401

import grpc
import pytest

from chain.grpc import GrpcServer, start_grpc_server
from tests.harness import TestChain

T = TypeVar("T")


class RPCFailure(Exception):
    """Raise in a FakeComet method to answer with a JSON-RPC error."""


@dataclass
class FakeComet:
    """A JSON-RPC server answering the methods in ``methods`` (params dict -> result)."""

    methods: dict[str, Callable[[dict[str, Any]], Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reply = fake.answer(body)
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        method, params = body["method"], body.get("params") or {}
        self.calls.append((method, params))
        handler = self.methods.get(method)
        if handler is None:
            return {"jsonrpc": "2.0", "id": body["id"], "error": {"message": "method not found"}}
        try:
            return {"jsonrpc": "2.0", "id": body["id"], "result": handler(params)}
        except RPCFailure as exc:
            error = {"code": -32603, "message": "Internal error", "data": str(exc)}
            return {"jsonrpc": "2.0", "id": body["id"], "error": error}

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class GrpcHarness:
    chain: TestChain
    loop: asyncio.AbstractEventLoop
    server: GrpcServer
    channel: grpc.Channel
    comet: FakeComet

    def on_loop(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the loop that started the server (the node's ABCI loop)."""

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout=30)

    def block(self, txs: list[bytes] | None = None) -> Any:
        return self.on_loop(lambda: self.chain.block(txs or []))

    def unary(self, path: str, request: bytes, metadata: Any = None) -> tuple[bytes, Any]:
        """Call ``path`` with raw request bytes; (response bytes, initial metadata)."""
        method = self.channel.unary_unary(path)
        response, call = method.with_call(request, metadata=metadata, timeout=10)
        return response, dict(call.initial_metadata())


@pytest.fixture
def grpc_chain(tmp_path: Path) -> Iterator[GrpcHarness]:
    """A one-validator chain at height 1 with its gRPC server on a free port."""
    chain_ = TestChain(tmp_path / "chain")
    chain_.init()
    chain_.block()
    comet = FakeComet()
    rpc_url = comet.start()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(
        start_grpc_server(chain_.app, "127.0.0.1:0", rpc_url), loop
    ).result(timeout=30)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield GrpcHarness(chain_, loop, server, channel, comet)
    finally:
        channel.close()
        asyncio.run_coroutine_threadsafe(server.stop(0), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        comet.stop()
        chain_.store.close()


def rpc_error(call: Callable[[], Any]) -> grpc.RpcError:
    """The gRPC error ``call`` raises (fails the test if it succeeds)."""
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value
