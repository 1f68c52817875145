"""CometBFT JSON-RPC from inside the event loop: blocking calls run on a small thread pool.

The event loop also serves ABCI, and CometBFT's ``broadcast_tx_sync`` waits for this very
process to answer CheckTx, so an RPC call must never block the loop. Each worker thread keeps
its own keep-alive ``CometRPC`` connection.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from chain.cli.rpc import CometRPC

T = TypeVar("T")
RPC_THREADS = 8  # concurrent CometBFT RPC calls in flight
RPC_TIMEOUT_SECONDS = 15.0


class AsyncComet:
    """Awaitable CometBFT RPC calls (``await comet.call("status")``)."""

    def __init__(self, url: str, threads: int = RPC_THREADS) -> None:
        self.url = url
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="comet-rpc")
        self._local = threading.local()

    def _client(self) -> CometRPC:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = CometRPC(self.url, timeout=RPC_TIMEOUT_SECONDS)
        return client

    async def run(self, fn: Callable[[CometRPC], T]) -> T:
        """Run ``fn(client)`` on a pool thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(self._client()))

    async def call(self, method: str, **params: Any) -> Any:
        return await self.run(lambda rpc: rpc.call(method, **params))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
