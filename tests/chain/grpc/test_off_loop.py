"""Queries never hold the consensus loop: a node's ABCI server and gRPC server as `infera start`
runs them (ABCI on one event loop, gRPC started from it), a slow query hammering gRPC and ABCI
Query, and FinalizeBlock + Commit sent over the real ABCI socket meanwhile."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import chain.pb  # noqa: F401

import grpc
import pytest

from chain.abci.server import ABCIServer, frame
from chain.context import Context
from chain.grpc import GrpcServer, start_grpc_server
from chain.grpc.errors import GrpcAbort
from chain.grpc.pool import QueryPool
from chain.module import QueryRoute
from cosmos.bank.v1beta1 import query_pb2 as bank_query
from cosmos.base.v1beta1 import coin_pb2
from infera.models.v1 import query_pb2 as models_query
from tendermint.abci import types_pb2 as abci
from tests.chain.grpc.conftest import FakeComet
from tests.harness import DENOM, TestChain, finalize_request, send_msg

SLOW = "/infera.slow.v1.Query/Burn"
GATED = "/infera.slow.v1.Query/Gated"
SLOW_SECONDS = 2.0  # CPU time one slow query burns (holding the GIL, as a long scan does)
MAX_ABCI_SECONDS = 0.5  # an ABCI request under that load must still answer within this


@dataclass
class _SlowModule:
    """Test-only query routes: one burns CPU, one waits at a gate between two reads."""

    name: str = "slow"
    entered: threading.Event = field(default_factory=threading.Event)
    proceed: threading.Event = field(default_factory=threading.Event)
    address: bytes = b""

    def msg_routes(self) -> tuple:
        return ()

    def query_routes(self) -> tuple:
        return (
            QueryRoute(SLOW, models_query.QueryModelRequest, self._burn),
            QueryRoute(GATED, bank_query.QueryBalanceRequest, self._gated),
        )

    def _burn(self, ctx: Context, req: object) -> models_query.QueryModelResponse:
        end = time.monotonic() + SLOW_SECONDS
        while time.monotonic() < end:
            pass
        return models_query.QueryModelResponse()

    def _gated(self, ctx: Context, req: object) -> bank_query.QueryAllBalancesResponse:
        """(height read, balance before the gate, balance after it) as three coins."""
        key = b"bank/bal/" + self.address + DENOM.encode()
        before = ctx.store.get(key)
        self.entered.set()
        self.proceed.wait(timeout=5)
        after = ctx.store.get(key)
        return bank_query.QueryAllBalancesResponse(
            balances=[
                coin_pb2.Coin(denom="height", amount=str(ctx.block.height)),
                coin_pb2.Coin(denom="before", amount=(before or b"0").decode()),
                coin_pb2.Coin(denom="after", amount=(after or b"0").decode()),
            ]
        )


class AbciClient:
    """One ABCI connection, as CometBFT opens it: a request then a Flush, answers in order."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.file = self.sock.makefile("rb")

    def call(self, request: abci.Request) -> tuple[abci.Response, float]:
        """The answer to ``request`` and the seconds it took."""
        start = time.monotonic()
        self.sock.sendall(frame(request) + frame(abci.Request(flush=abci.RequestFlush())))
        answer = self._read()
        self._read()  # the Flush
        return answer, time.monotonic() - start

    def _read(self) -> abci.Response:
        length = shift = 0
        while True:
            byte = self.file.read(1)[0]
            length |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
        return abci.Response.FromString(self.file.read(length))

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@dataclass
class Node:
    chain: TestChain
    slow: _SlowModule
    abci_port: int
    grpc: GrpcServer
    channel: grpc.Channel

    def block(self, client: AbciClient, txs: list[bytes]) -> list[float]:
        """FinalizeBlock + Commit of the next height over ``client``; each request's seconds."""
        self.chain.height += 1
        request = abci.Request(finalize_block=finalize_request(self.chain.height, txs))
        finalized, finalize_seconds = client.call(request)
        assert finalized.WhichOneof("value") == "finalize_block", finalized
        committed, commit_seconds = client.call(abci.Request(commit=abci.RequestCommit()))
        assert committed.WhichOneof("value") == "commit", committed
        return [finalize_seconds, commit_seconds]

    def slow_grpc(self) -> None:
        self.channel.unary_unary(SLOW)(b"", timeout=60)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    chain_ = TestChain(tmp_path / "chain")
    chain_.init()
    chain_.block()
    slow = _SlowModule(address=chain_.keys[1].address)
    chain_.app.router.add_module(slow)
    comet = FakeComet()
    rpc_url = comet.start()
    loop = asyncio.new_event_loop()  # the node's loop: ABCI is served here
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[ABCIServer, GrpcServer]:
        abci_server = ABCIServer(chain_.app, port=0)
        await abci_server.start()
        return abci_server, await start_grpc_server(chain_.app, "127.0.0.1:0", rpc_url)

    abci_server, grpc_server = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    port = abci_server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_server.port}")
    try:
        yield Node(chain_, slow, port, grpc_server, channel)
    finally:
        slow.proceed.set()
        channel.close()
        asyncio.run_coroutine_threadsafe(grpc_server.stop(0), loop).result(timeout=30)
        asyncio.run_coroutine_threadsafe(abci_server.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        comet.stop()
        chain_.store.close()


def test_slow_grpc_queries_do_not_delay_finalize_block(node: Node) -> None:
    client = AbciClient(node.abci_port)
    with ThreadPoolExecutor(4) as hammer:
        calls = [hammer.submit(node.slow_grpc) for _ in range(4)]
        time.sleep(0.3)  # the slow queries are running
        latencies = [s for _ in range(3) for s in node.block(client, [])]
        assert not any(call.done() for call in calls)  # the load lasted the whole time
        for call in calls:
            call.result(timeout=60)
    client.close()
    assert max(latencies) < MAX_ABCI_SECONDS, latencies


def test_slow_abci_queries_do_not_delay_finalize_block(node: Node) -> None:
    """CometBFT's query connection carries abci_query (public RPC); the consensus connection
    goes on while a slow one runs."""
    consensus, query = AbciClient(node.abci_port), AbciClient(node.abci_port)
    request = abci.Request(query=abci.RequestQuery(path=SLOW))
    with ThreadPoolExecutor(1) as caller:
        answered = caller.submit(query.call, request)
        time.sleep(0.3)
        latencies = node.block(consensus, []) + node.block(consensus, [])
        assert not answered.done()
        answer, _ = answered.result(timeout=60)
    assert answer.query.code == 0
    consensus.close()
    query.close()
    assert max(latencies) < MAX_ABCI_SECONDS, latencies


def test_a_query_reads_one_committed_height_while_a_block_commits(node: Node) -> None:
    sender, recipient = node.chain.keys[0], node.chain.keys[1]
    height = node.chain.height
    before = node.chain.balance(recipient.address)
    tx = node.chain.tx(sender, send_msg(sender, recipient.address, 7))
    client = AbciClient(node.abci_port)
    with ThreadPoolExecutor(1) as caller:
        request = bank_query.QueryBalanceRequest(address=recipient.bech32, denom=DENOM)
        answer = caller.submit(
            node.channel.unary_unary(GATED), request.SerializeToString(), timeout=30
        )
        assert node.slow.entered.wait(timeout=5)  # the query read once and waits at the gate
        node.block(client, [tx])  # a block moves 7 to the recipient and commits meanwhile
        assert not answer.done()  # the block did not wait for the query
        node.slow.proceed.set()
        coins = bank_query.QueryAllBalancesResponse.FromString(answer.result(timeout=30))
    client.close()
    read = {c.denom: int(c.amount) for c in coins.balances}
    assert read == {"height": height, "before": before, "after": before}
    assert node.chain.balance(recipient.address) == before + 7


def test_query_pool_refuses_calls_beyond_its_backlog() -> None:
    gate = threading.Event()

    async def scenario() -> grpc.StatusCode:
        pool = QueryPool(threads=1, backlog=1)
        running = asyncio.ensure_future(pool.run(gate.wait, 10))
        await asyncio.sleep(0.05)
        try:
            await pool.run(lambda: None)
        except GrpcAbort as abort:
            return abort.code
        finally:
            gate.set()
            await running
            pool.close()
        return grpc.StatusCode.OK

    assert asyncio.run(scenario()) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_height_pruned_during_a_query_is_a_clear_error(tmp_path: Path) -> None:
    from chain.errors import ChainError

    chain_ = TestChain(tmp_path / "chain", keep_recent=2)
    chain_.init()
    chain_.block()
    chain_.block()
    key = b"bank/bal/" + chain_.keys[0].address + DENOM.encode()
    with chain_.app.queries.reading(1) as ctx:
        assert ctx.store.get(key) is not None
        chain_.block()  # keeps heights 2 and 3: height 1 is pruned under the query
        with pytest.raises(ChainError, match="height 1 is no longer retained"):
            ctx.store.get(key)
    chain_.store.close()
