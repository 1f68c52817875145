"""cosmos.tx.v1beta1.Service and the node services, against the app and a fake CometBFT RPC."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import chain.pb  # noqa: F401

import grpc

from cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from cosmos.base.tendermint.v1beta1 import query_pb2_grpc as tm_grpc
from cosmos.consensus.v1 import query_pb2 as consensus_query
from cosmos.consensus.v1 import query_pb2_grpc as consensus_grpc
from cosmos.tx.v1beta1 import service_pb2, service_pb2_grpc, tx_pb2
from tests.chain.grpc.conftest import GrpcHarness, RPCFailure, rpc_error
from tests.harness import MAX_BLOCK_GAS, send_msg


def _tx_service(h: GrpcHarness) -> service_pb2_grpc.ServiceStub:
    return service_pb2_grpc.ServiceStub(h.channel)


def _send(h: GrpcHarness, amount: int = 5, **kwargs: Any) -> bytes:
    sender, recipient = h.chain.keys[0], h.chain.keys[1]
    return h.chain.tx(sender, send_msg(sender, recipient.address, amount), **kwargs)


def test_simulate_accepts_tx_bytes_and_the_deprecated_tx_field(grpc_chain: GrpcHarness) -> None:
    raw = _send(grpc_chain, bump=False)
    by_bytes = _tx_service(grpc_chain).Simulate(service_pb2.SimulateRequest(tx_bytes=raw))
    tx_raw = tx_pb2.TxRaw.FromString(raw)
    tx = tx_pb2.Tx(signatures=list(tx_raw.signatures))
    tx.body.ParseFromString(tx_raw.body_bytes)
    tx.auth_info.ParseFromString(tx_raw.auth_info_bytes)
    by_tx = _tx_service(grpc_chain).Simulate(service_pb2.SimulateRequest(tx=tx))
    assert by_bytes.gas_info.gas_used == by_tx.gas_info.gas_used > 0
    assert len(by_bytes.result.msg_responses) == 1
    assert any(e.type == "transfer" for e in by_bytes.result.events)


def test_simulate_changes_nothing(grpc_chain: GrpcHarness) -> None:
    before = grpc_chain.chain.balance(grpc_chain.chain.keys[1].address)
    _tx_service(grpc_chain).Simulate(service_pb2.SimulateRequest(tx_bytes=_send(grpc_chain)))
    assert grpc_chain.chain.balance(grpc_chain.chain.keys[1].address) == before


def test_simulate_without_fee_covers_the_gas_of_paying_one(grpc_chain: GrpcHarness) -> None:
    """cosmpy simulates with no fee and gas 0, then pays a fee: the estimate must cover it."""
    free = _send(grpc_chain, bump=False, fee=0, gas=0)
    estimate = _tx_service(grpc_chain).Simulate(service_pb2.SimulateRequest(tx_bytes=free))
    paid = _send(grpc_chain, fee=10_000, gas=200_000)
    result = grpc_chain.block([paid]).tx_results[0]
    assert result.code == 0, result.log
    assert estimate.gas_info.gas_used >= result.gas_used * 95 // 100


def test_simulate_of_bad_txs_is_invalid_argument(grpc_chain: GrpcHarness) -> None:
    service = _tx_service(grpc_chain)
    err = rpc_error(lambda: service.Simulate(service_pb2.SimulateRequest()))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "empty tx" in err.details()
    err = rpc_error(lambda: service.Simulate(service_pb2.SimulateRequest(tx_bytes=b"\xff\x01")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "tx parse error" in err.details()
    broke = _send(grpc_chain, amount=10**18, bump=False)
    err = rpc_error(lambda: service.Simulate(service_pb2.SimulateRequest(tx_bytes=broke)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "insufficient funds" in err.details()


def test_broadcast_forwards_sync_and_reports_checktx(grpc_chain: GrpcHarness) -> None:
    raw = _send(grpc_chain)
    txhash = hashlib.sha256(raw).hexdigest().upper()
    grpc_chain.comet.methods["broadcast_tx_sync"] = lambda p: {
        "code": 0,
        "data": "",
        "log": "",
        "codespace": "",
        "hash": txhash,
    }
    response = _tx_service(grpc_chain).BroadcastTx(
        service_pb2.BroadcastTxRequest(tx_bytes=raw, mode=service_pb2.BROADCAST_MODE_SYNC)
    )
    assert response.tx_response.txhash == txhash and response.tx_response.code == 0
    method, params = grpc_chain.comet.calls[-1]
    assert method == "broadcast_tx_sync" and base64.b64decode(params["tx"]) == raw


def test_broadcast_of_a_cached_tx_is_a_tx_response_not_an_error(grpc_chain: GrpcHarness) -> None:
    def cached(params: dict) -> None:
        raise RPCFailure("tx already exists in cache")

    grpc_chain.comet.methods["broadcast_tx_async"] = cached
    response = _tx_service(grpc_chain).BroadcastTx(
        service_pb2.BroadcastTxRequest(tx_bytes=b"x", mode=service_pb2.BROADCAST_MODE_ASYNC)
    )
    assert (response.tx_response.code, response.tx_response.codespace) == (19, "sdk")


def test_broadcast_rejects_empty_txs_and_block_mode(grpc_chain: GrpcHarness) -> None:
    service = _tx_service(grpc_chain)
    for request in (
        service_pb2.BroadcastTxRequest(mode=service_pb2.BROADCAST_MODE_SYNC),
        service_pb2.BroadcastTxRequest(tx_bytes=b"x", mode=service_pb2.BROADCAST_MODE_BLOCK),
    ):
        err = rpc_error(lambda r=request: service.BroadcastTx(r))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_get_tx_of_an_unknown_hash_is_not_found(grpc_chain: GrpcHarness) -> None:
    def missing(params: dict) -> None:
        raise RPCFailure(f"tx ({params['hash']}) not found")

    grpc_chain.comet.methods["tx"] = missing
    err = rpc_error(lambda: _tx_service(grpc_chain).GetTx(service_pb2.GetTxRequest(hash="AB" * 32)))
    assert err.code() == grpc.StatusCode.NOT_FOUND and "tx not found" in err.details()
    err = rpc_error(lambda: _tx_service(grpc_chain).GetTx(service_pb2.GetTxRequest(hash="xyz")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "invalid tx hash" in err.details()


def test_get_tx_converts_cometbft_results(grpc_chain: GrpcHarness) -> None:
    raw = _send(grpc_chain)
    txhash = hashlib.sha256(raw).hexdigest().upper()
    result = grpc_chain.block([raw]).tx_results[0]
    events = [
        {
            "type": e.type,
            "attributes": [
                {"key": a.key, "value": a.value, "index": a.index} for a in e.attributes
            ],
        }
        for e in result.events
    ]
    grpc_chain.comet.methods["tx"] = lambda p: {
        "hash": txhash,
        "height": "2",
        "index": 0,
        "tx": base64.b64encode(raw).decode(),
        "tx_result": {
            "code": 0,
            "data": base64.b64encode(result.data).decode(),
            "log": "",
            "gas_wanted": str(result.gas_wanted),
            "gas_used": str(result.gas_used),
            "events": events,
        },
    }
    grpc_chain.comet.methods["header"] = lambda p: {"header": {"time": "2024-01-01T00:00:02Z"}}
    response = _tx_service(grpc_chain).GetTx(service_pb2.GetTxRequest(hash=txhash.lower()))
    assert response.tx_response.txhash == txhash and response.tx_response.height == 2
    assert response.tx_response.gas_used == result.gas_used
    assert response.tx_response.timestamp == "2024-01-01T00:00:02Z"
    assert response.tx.body.messages[0].type_url == "/cosmos.bank.v1beta1.MsgSend"
    assert {e.type for e in response.tx_response.events} >= {"transfer", "tx", "message"}


def test_get_txs_event_validates_the_query_and_page(grpc_chain: GrpcHarness) -> None:
    service = _tx_service(grpc_chain)
    for request, text in (
        (service_pb2.GetTxsEventRequest(), "query cannot be empty"),
        (service_pb2.GetTxsEventRequest(query="tx.height>0", limit=(1 << 64) - 1), "limit"),
        (service_pb2.GetTxsEventRequest(query="tx.height>0", page=(1 << 64) - 1), "page"),
    ):
        err = rpc_error(lambda r=request: service.GetTxsEvent(r))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and text in err.details()


def test_consensus_params_carry_the_block_max_gas(grpc_chain: GrpcHarness) -> None:
    stub = consensus_grpc.QueryStub(grpc_chain.channel)
    assert stub.Params(consensus_query.QueryParamsRequest()).params.block.max_gas == MAX_BLOCK_GAS


def test_block_height_must_be_positive(grpc_chain: GrpcHarness) -> None:
    stub = tm_grpc.ServiceStub(grpc_chain.channel)
    for height in (0, -1):
        err = rpc_error(
            lambda h=height: stub.GetBlockByHeight(tm_query.GetBlockByHeightRequest(height=h))
        )
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_cometbft_down_is_unavailable_not_internal(grpc_chain: GrpcHarness) -> None:
    grpc_chain.comet.stop()
    stub = tm_grpc.ServiceStub(grpc_chain.channel)
    err = rpc_error(lambda: stub.GetLatestBlock(tm_query.GetLatestBlockRequest()))
    assert err.code() == grpc.StatusCode.UNAVAILABLE
    grpc_chain.comet.start()  # the fixture stops it again
