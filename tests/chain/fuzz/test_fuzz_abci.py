"""Fuzzing in the default suite (issue 12): hostile txs, proposals, queries and vote extensions
through ``dispatch`` and through the real socket server; none may crash the node (see
targets.py for what counts as a crash). ``make fuzz`` runs the same targets for longer."""

from __future__ import annotations

import asyncio

import chain.pb  # noqa: F401

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.abci.server import ABCIServer, encode_varint, read_varint
from tendermint.abci import types_pb2 as abci
from tests.chain.fuzz import strategies as fz
from tests.chain.fuzz.targets import Node, make_node

FAST = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    chain_ = make_node(tmp_path_factory.mktemp("fuzz"))
    yield Node(chain_)
    chain_.store.close()


def _txs(node: Node) -> st.SearchStrategy[bytes]:
    return fz.hostile_txs(
        router=node.app.router,
        signers=node.chain.keys,
        account_numbers=node.account_numbers(),
        sequences=node.seqs,
    )


def test_check_tx_and_simulate_survive_hostile_txs(node):
    @FAST
    @given(_txs(node), st.booleans())
    def run(raw, recheck):
        node.check_tx(raw, recheck)
        node.simulate(raw)

    run()


def test_proposals_of_hostile_txs_are_judged_and_accepted_ones_execute(node):
    @settings(FAST, max_examples=60)
    @given(fz.tx_lists(_txs(node)))
    def run(txs):
        node.proposal(txs)

    run()
    assert node.accepted_blocks >= 60


def test_every_query_path_survives_hostile_requests(node):
    extra = [k.bech32 for k in node.chain.keys]

    @settings(FAST, max_examples=400)
    @given(fz.queries(node.app.router, extra))
    def run(query):
        node.query(*query)

    run()


def test_vote_extension_requests_survive_hostile_bytes(node):
    @FAST
    @given(st.integers(0, 2**63 - 1), st.binary(max_size=300), st.binary(max_size=32))
    def run(height, extension, address):
        node.vote_extension(height, extension, address)

    run()


# -- the real socket server ------------------------------------------------------------------


async def _exchange(app, requests: list[abci.Request]) -> list[abci.Response]:
    """Send ``requests`` then a Flush over one TCP connection to a real ABCIServer."""
    server = ABCIServer(app, port=0)
    await server.start()
    assert server._server is not None
    port = server._server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in [*requests, abci.Request(flush=abci.RequestFlush())]:
            data = request.SerializeToString()
            writer.write(encode_varint(len(data)) + data)
        await writer.drain()
        responses = []
        for _ in range(len(requests) + 1):
            length = await read_varint(reader)
            responses.append(abci.Response.FromString(await reader.readexactly(length)))
        return responses
    finally:
        writer.close()
        await writer.wait_closed()
        for _ in range(100):  # let the server's handler see the end of the stream and return
            if reader.at_eof():
                break
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.002)
        await server.stop()


def socket_requests(node: Node) -> st.SearchStrategy[abci.Request]:
    """CheckTx, Query, ProcessProposal and VerifyVoteExtension requests with hostile content."""
    return st.one_of(
        _txs(node).map(lambda raw: abci.Request(check_tx=abci.RequestCheckTx(tx=raw))),
        fz.queries(node.app.router).map(
            lambda q: abci.Request(query=abci.RequestQuery(path=q[0], data=q[1], height=q[2]))
        ),
        fz.tx_lists(st.binary(max_size=100)).map(
            lambda txs: abci.Request(
                process_proposal=abci.RequestProcessProposal(txs=txs, height=node.chain.height + 1)
            )
        ),
        st.binary(max_size=40).map(
            lambda ext: abci.Request(
                verify_vote_extension=abci.RequestVerifyVoteExtension(vote_extension=ext)
            )
        ),
    )


def test_socket_server_answers_hostile_requests_in_order_without_exceptions(node):
    requests = socket_requests(node)

    @settings(FAST, max_examples=20)
    @given(st.lists(requests, min_size=1, max_size=12))
    def run(batch):
        responses = asyncio.run(_exchange(node.app, batch))
        kinds = [r.WhichOneof("value") for r in responses]
        assert kinds == [b.WhichOneof("value") for b in batch] + ["flush"]

    run()
