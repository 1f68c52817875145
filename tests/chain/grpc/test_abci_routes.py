"""The gRPC server's services answered through ABCI Query (cosmjs' path to Simulate, GetTx...)."""

from __future__ import annotations

import concurrent.futures
import time

import chain.pb  # noqa: F401

from cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from cosmos.consensus.v1 import query_pb2 as consensus_query
from cosmos.tx.signing.v1beta1 import signing_pb2
from cosmos.tx.v1beta1 import service_pb2, service_pb2_grpc, tx_pb2
from tendermint.abci import types_pb2 as abci
from tests.chain.grpc.conftest import GrpcHarness, RPCFailure
from tests.harness import MAX_BLOCK_GAS, send_msg

SIMULATE = "/cosmos.tx.v1beta1.Service/Simulate"


def _query(h: GrpcHarness, path: str, data: bytes, height: int = 0) -> abci.ResponseQuery:
    """ABCI Query as CometBFT sends it: from a thread that is not the gRPC server's loop."""
    request = abci.RequestQuery(path=path, data=data, height=height)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(h.chain.app.query, request).result(timeout=30)


def _send(h: GrpcHarness, amount: int = 5) -> bytes:
    sender, recipient = h.chain.keys[0], h.chain.keys[1]
    return h.chain.tx(sender, send_msg(sender, recipient.address, amount), bump=False)


def test_simulate_through_abci_query_matches_grpc(grpc_chain: GrpcHarness) -> None:
    raw = _send(grpc_chain)
    request = service_pb2.SimulateRequest(tx_bytes=raw).SerializeToString()
    answer = _query(grpc_chain, SIMULATE, request)
    assert answer.code == 0, answer.log
    routed = service_pb2.SimulateResponse.FromString(answer.value)
    direct = service_pb2_grpc.ServiceStub(grpc_chain.channel).Simulate(
        service_pb2.SimulateRequest(tx_bytes=raw)
    )
    assert routed.gas_info.gas_used == direct.gas_info.gas_used > 0
    assert answer.height == grpc_chain.chain.app.store.last_height


def test_simulate_failure_is_an_sdk_error_naming_the_cause(grpc_chain: GrpcHarness) -> None:
    broke = _send(grpc_chain, amount=10**18)
    request = service_pb2.SimulateRequest(tx_bytes=broke).SerializeToString()
    answer = _query(grpc_chain, SIMULATE, request)
    assert (answer.codespace, answer.code) == ("sdk", 18)
    assert "insufficient funds" in answer.log and "gasUsed" in answer.log


def test_undecodable_request_is_invalid_request(grpc_chain: GrpcHarness) -> None:
    answer = _query(grpc_chain, SIMULATE, b"\xff\xff\xff")
    assert (answer.codespace, answer.code) == ("sdk", 18) and "cannot decode" in answer.log


def test_get_tx_of_unknown_hash_is_key_not_found(grpc_chain: GrpcHarness) -> None:
    def missing(params: dict) -> None:
        raise RPCFailure(f"tx ({params['hash']}) not found")

    grpc_chain.comet.methods["tx"] = missing
    data = service_pb2.GetTxRequest(hash="AB" * 32).SerializeToString()
    answer = _query(grpc_chain, "/cosmos.tx.v1beta1.Service/GetTx", data)
    assert (answer.codespace, answer.code) == ("sdk", 38) and "tx not found" in answer.log


def test_consensus_params_and_node_info_are_routed(grpc_chain: GrpcHarness) -> None:
    answer = _query(grpc_chain, "/cosmos.consensus.v1.Query/Params", b"")
    params = consensus_query.QueryParamsResponse.FromString(answer.value).params
    assert answer.code == 0 and params.block.max_gas == MAX_BLOCK_GAS
    grpc_chain.comet.methods["status"] = lambda p: {
        "node_info": {"network": "infera-test", "version": "0.38.25", "moniker": "solo"},
        "sync_info": {"catching_up": True},
    }
    answer = _query(grpc_chain, "/cosmos.base.tendermint.v1beta1.Service/GetSyncing", b"")
    assert answer.code == 0, answer.log
    assert tm_query.GetSyncingResponse.FromString(answer.value).syncing is True


def test_abci_query_is_not_routed_back_into_itself(grpc_chain: GrpcHarness) -> None:
    """ABCIQuery over ABCI Query would re-enter the query pool; it is refused, at once."""
    inner = tm_query.ABCIQueryRequest(path=SIMULATE, data=b"")
    outer = tm_query.ABCIQueryRequest(
        path="/cosmos.base.tendermint.v1beta1.Service/ABCIQuery", data=inner.SerializeToString()
    )
    started = time.monotonic()
    answer = _query(grpc_chain, outer.path, outer.SerializeToString())
    assert answer.code == 6 and "unknown query path" in answer.log
    assert time.monotonic() - started < 5


def test_negative_height_is_refused(grpc_chain: GrpcHarness) -> None:
    data = service_pb2.SimulateRequest(tx_bytes=_send(grpc_chain)).SerializeToString()
    answer = _query(grpc_chain, SIMULATE, data, height=-1)
    assert answer.code == 18


def _as_cosmjs_simulates(raw: bytes) -> bytes:
    """The tx as cosmjs sends it to Simulate: sign mode unspecified, one empty signature."""
    tx_raw = tx_pb2.TxRaw.FromString(raw)
    auth_info = tx_pb2.AuthInfo.FromString(tx_raw.auth_info_bytes)
    auth_info.signer_infos[0].mode_info.single.mode = signing_pb2.SIGN_MODE_UNSPECIFIED
    return tx_pb2.TxRaw(
        body_bytes=tx_raw.body_bytes,
        auth_info_bytes=auth_info.SerializeToString(),
        signatures=[b""],
    ).SerializeToString()


def test_simulate_takes_cosmjs_unsigned_tx_but_check_tx_refuses_it(grpc_chain: GrpcHarness) -> None:
    unsigned = _as_cosmjs_simulates(_send(grpc_chain))
    data = service_pb2.SimulateRequest(tx_bytes=unsigned).SerializeToString()
    answer = _query(grpc_chain, SIMULATE, data)
    assert answer.code == 0, answer.log
    assert service_pb2.SimulateResponse.FromString(answer.value).gas_info.gas_used > 0
    checked = grpc_chain.on_loop(lambda: grpc_chain.chain.check(unsigned))
    assert checked.code != 0 and "SIGN_MODE_DIRECT" in checked.log
