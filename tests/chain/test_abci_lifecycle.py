"""The request sequences CometBFT sends, over the real ABCI socket, answered as CometBFT needs.

A scripted client stands in for CometBFT: it opens the four connections, frames requests with
uvarint lengths and checks every response (including the crash traps: ProcessProposal and
VerifyVoteExtension never answer UNKNOWN; FinalizeBlock answers one result per tx).
"""

from __future__ import annotations

import asyncio
import socket
import threading

import chain.pb  # noqa: F401

import pytest

from chain.abci.server import ABCIServer, encode_varint
from tendermint.abci import types_pb2 as abci
from tests.harness import (
    TestChain,
    finalize_request,
    genesis_app_state,
    init_chain_request,
    send_msg,
)


class ScriptedCometBFT:
    """One ABCI connection, speaking the socket protocol by hand."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buffer = b""

    def send(self, **request) -> None:
        data = abci.Request(**request).SerializeToString()
        self.sock.sendall(encode_varint(len(data)) + data)

    def _read_varint(self) -> int:
        shift = value = 0
        while True:
            byte = self._read(1)[0]
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def receive(self) -> abci.Response:
        response = abci.Response()
        response.ParseFromString(self._read(self._read_varint()))
        return response

    def call(self, **request) -> abci.Response:
        """Send a request then a Flush (as CometBFT's socket client does); return the answer."""
        self.send(**request)
        self.send(flush=abci.RequestFlush())
        response = self.receive()
        assert self.receive().WhichOneof("value") == "flush"
        assert response.WhichOneof("value") == next(iter(request)), response
        return response

    def close(self) -> None:
        self.sock.close()


class Node:
    """The app served on a free port from a background event loop."""

    def __init__(self, chain: TestChain) -> None:
        self.chain = chain
        self.loop = asyncio.new_event_loop()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = ABCIServer(chain.app, "127.0.0.1", self.port)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        self.conns = {
            name: ScriptedCometBFT(self.port)
            for name in ("query", "snapshot", "mempool", "consensus")
        }

    def stop(self) -> None:
        for conn in self.conns.values():
            conn.close()
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def node(tmp_path):
    n = Node(TestChain(tmp_path / "node"))
    yield n
    n.stop()
    n.chain.store.close()


def _start_chain(node: Node) -> bytes:
    q, c = node.conns["query"], node.conns["consensus"]
    assert q.call(echo=abci.RequestEcho(message="hi")).echo.message == "hi"
    info = q.call(info=abci.RequestInfo(version="0.38.25")).info
    assert (info.last_block_height, info.last_block_app_hash) == (0, b"")
    state = genesis_app_state(node.chain.keys, node.chain.validators)
    init = c.call(init_chain=init_chain_request(state)).init_chain
    assert len(init.validators) == 1 and init.validators[0].power == 1000
    assert len(init.app_hash) == 32
    return init.app_hash


def test_start_rounds_and_commit_follow_the_protocol(node):
    c, m, q = node.conns["consensus"], node.conns["mempool"], node.conns["query"]
    _start_chain(node)
    a, b = node.chain.keys[0], node.chain.keys[1]
    tx = node.chain.tx(a, send_msg(a, b.address, 7), account_number=0)
    assert m.call(check_tx=abci.RequestCheckTx(tx=tx, type=abci.NEW)).check_tx.code == 0
    # round 0: a proposal with a garbage tx is rejected (never UNKNOWN)
    prep = c.call(
        prepare_proposal=abci.RequestPrepareProposal(
            txs=[tx, b"junk"], max_tx_bytes=1 << 20, height=1
        )
    ).prepare_proposal
    assert list(prep.txs) == [tx]  # undecodable txs are dropped
    bad = c.call(
        process_proposal=abci.RequestProcessProposal(txs=[b"junk"], height=1)
    ).process_proposal
    assert bad.status == abci.ResponseProcessProposal.REJECT
    # round 1: the good proposal is accepted; state untouched by proposals
    good = c.call(process_proposal=abci.RequestProcessProposal(txs=[tx], height=1)).process_proposal
    assert good.status == abci.ResponseProcessProposal.ACCEPT
    ext = c.call(extend_vote=abci.RequestExtendVote(height=1)).extend_vote
    ok = c.call(
        verify_vote_extension=abci.RequestVerifyVoteExtension(
            vote_extension=ext.vote_extension, height=1
        )
    )
    assert ok.verify_vote_extension.status == abci.ResponseVerifyVoteExtension.ACCEPT
    weird = c.call(
        verify_vote_extension=abci.RequestVerifyVoteExtension(vote_extension=b"\xff" * 9, height=1)
    )
    assert weird.verify_vote_extension.status == abci.ResponseVerifyVoteExtension.REJECT
    # FinalizeBlock: exactly one result per tx, garbage included
    fin = c.call(finalize_block=finalize_request(1, [tx, b"junk"])).finalize_block
    assert [r.code for r in fin.tx_results] == [0, 2]
    # Info still reports the last *committed* height until Commit
    assert q.call(info=abci.RequestInfo()).info.last_block_height == 0
    c.call(commit=abci.RequestCommit())
    info = q.call(info=abci.RequestInfo()).info
    assert (info.last_block_height, info.last_block_app_hash) == (1, fin.app_hash)
    # recheck after commit: the included tx is now a replay
    assert m.call(check_tx=abci.RequestCheckTx(tx=tx, type=abci.RECHECK)).check_tx.code == 32


def test_requests_pipelined_before_flush_are_answered_in_order(node):
    q = node.conns["query"]
    for i in range(5):
        q.send(echo=abci.RequestEcho(message=str(i)))
    q.send(flush=abci.RequestFlush())
    answers = [q.receive() for _ in range(6)]
    assert [a.echo.message for a in answers[:5]] == ["0", "1", "2", "3", "4"]
    assert answers[5].WhichOneof("value") == "flush"


def test_snapshot_connection_offers_none(node):
    s = node.conns["snapshot"]
    assert list(s.call(list_snapshots=abci.RequestListSnapshots()).list_snapshots.snapshots) == []
    offer = s.call(offer_snapshot=abci.RequestOfferSnapshot()).offer_snapshot
    assert offer.result == abci.ResponseOfferSnapshot.REJECT


def test_restart_reports_last_commit_and_replay_gives_the_same_hash(tmp_path):
    """Crash after FinalizeBlock(2) but before Commit: the replayed block gives the same hash."""
    chain_ = TestChain(tmp_path / "r")
    node = Node(chain_)
    _start_chain(node)
    c = node.conns["consensus"]
    a, b = chain_.keys[0], chain_.keys[1]
    c.call(finalize_block=finalize_request(1, []))
    c.call(commit=abci.RequestCommit())
    tx = chain_.tx(a, send_msg(a, b.address, 9), account_number=0)
    first = c.call(finalize_block=finalize_request(2, [tx])).finalize_block
    node.stop()  # "crash": no Commit for height 2
    chain_.reopen()
    node = Node(chain_)
    q, c = node.conns["query"], node.conns["consensus"]
    info = q.call(info=abci.RequestInfo()).info
    assert info.last_block_height == 1
    replay = c.call(finalize_block=finalize_request(2, [tx])).finalize_block
    assert replay.app_hash == first.app_hash
    c.call(commit=abci.RequestCommit())
    assert q.call(info=abci.RequestInfo()).info.last_block_app_hash == first.app_hash
    node.stop()
    chain_.store.close()


def test_unknown_query_path_is_an_error_not_a_crash(node):
    q = node.conns["query"]
    _start_chain(node)
    res = q.call(query=abci.RequestQuery(path="/nope", data=b"")).query
    assert res.code == 6 and "unknown query path" in res.log
