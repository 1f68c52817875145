"""Where the gRPC server's work runs: a thread of its own, and a bounded pool for queries.

The node's main event loop executes blocks (ABCI FinalizeBlock, Commit). The gRPC server never
touches it: ``ServerThread`` runs ``grpc.aio`` on a second event loop in its own thread, and
every handler that reads state (Router queries, Proven, ABCIQuery, Simulate) hands the work to
``QueryPool``, a few worker threads reading committed store snapshots. A slow query then delays
other queries at most, never a block. Python's GIL is still shared: a busy query thread slows
the consensus thread by about one switch interval per hand-over, never by a query's length
(measured in ``bench/bench_consensus_loop.py``).

The pool is bounded twice: ``threads`` calls run at once, and at most ``backlog`` calls wait or
run; a call beyond that is refused at once with RESOURCE_EXHAUSTED instead of queueing without
end behind slow ones.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc

from chain.grpc.errors import GrpcAbort

T = TypeVar("T")
QUERY_THREADS = 2  # queries and simulations running at once (the VM has 2 cores)
QUERY_BACKLOG = 64  # calls running or waiting; more are refused (RESOURCE_EXHAUSTED)


class QueryPool:
    """Runs blocking state reads off the event loop, at most ``backlog`` in flight."""

    def __init__(self, threads: int = QUERY_THREADS, backlog: int = QUERY_BACKLOG) -> None:
        self.threads, self.backlog = threads, backlog
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="query")
        self._in_flight = 0  # touched only on the server's event loop: no lock needed

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a pool thread; RESOURCE_EXHAUSTED when the backlog is full."""
        if self._in_flight >= self.backlog:
            raise GrpcAbort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"query backlog full ({self.backlog} calls in flight); retry later",
            )
        self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._in_flight -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class ServerThread:
    """An event loop on a thread of its own, for the gRPC server."""

    def __init__(self, name: str = "grpc") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Awaitable[T]:
        """Run ``coroutine`` on this thread's loop; awaitable from any other event loop."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    async def close(self) -> None:
        """Stop the loop and wait for the thread (without blocking the caller's loop)."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 10.0)
        if not self._thread.is_alive():
            self.loop.close()
