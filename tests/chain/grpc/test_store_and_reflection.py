"""Proven store reads, server reflection and health, in-process."""

from __future__ import annotations

import chain.pb  # noqa: F401

import grpc
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from chain.store.proof import decode_proof, verify_proof
from infera.store.v1 import query_pb2 as store_query
from infera.store.v1 import query_pb2_grpc as store_grpc
from modules.bank import keys as bank_keys
from tests.chain.grpc.conftest import GrpcHarness, rpc_error
from tests.harness import INITIAL_BALANCE, send_msg


def _proven(h: GrpcHarness, key: bytes, height: int = 0) -> store_query.QueryProvenResponse:
    request = store_query.QueryProvenRequest(key=key, height=height)
    return store_grpc.QueryStub(h.channel).Proven(request)


def test_proven_value_checks_against_the_app_hash_of_its_height(grpc_chain: GrpcHarness) -> None:
    sender, recipient = grpc_chain.chain.keys[0], grpc_chain.chain.keys[1]
    grpc_chain.block([grpc_chain.chain.tx(sender, send_msg(sender, recipient.address, 9))])
    key = bank_keys.balance_key(recipient.address, "uinfera")
    store = grpc_chain.chain.store
    for height, amount in ((1, INITIAL_BALANCE), (2, INITIAL_BALANCE + 9)):
        answer = _proven(grpc_chain, key, height)
        assert (answer.height, answer.exists, answer.value) == (height, True, str(amount).encode())
        proof = decode_proof(answer.proof)
        assert verify_proof(store.root_at(height), key, answer.value, proof)
        assert not verify_proof(store.root_at(height), key, b"1" + answer.value, proof)
    other_height = _proven(grpc_chain, key, 1)
    assert not verify_proof(
        store.root_at(2), key, other_height.value, decode_proof(other_height.proof)
    )


def test_proven_absence(grpc_chain: GrpcHarness) -> None:
    answer = _proven(grpc_chain, b"bank/bal/nobody")
    assert not answer.exists and answer.value == b"" and answer.height == 1
    root = grpc_chain.chain.store.root_at(1)
    assert verify_proof(root, b"bank/bal/nobody", None, decode_proof(answer.proof))


def test_proven_rejects_bad_keys_and_heights(grpc_chain: GrpcHarness) -> None:
    for key, height, text in (
        (b"", 0, "key must be"),
        (b"k" * 1025, 0, "key must be"),
        (b"k", -1, "negative height"),
        (b"k", 50, "future"),
    ):
        err = rpc_error(lambda k=key, h=height: _proven(grpc_chain, k, h))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and text in err.details()


def _reflect(h: GrpcHarness, request: reflection_pb2.ServerReflectionRequest) -> object:
    stub = reflection_pb2_grpc.ServerReflectionStub(h.channel)
    return next(iter(stub.ServerReflectionInfo(iter([request]), timeout=10)))


def test_reflection_lists_cosmos_and_infera_services(grpc_chain: GrpcHarness) -> None:
    answer = _reflect(grpc_chain, reflection_pb2.ServerReflectionRequest(list_services=""))
    names = {s.name for s in answer.list_services_response.service}  # type: ignore[attr-defined]
    assert {
        "cosmos.auth.v1beta1.Query",
        "cosmos.bank.v1beta1.Query",
        "cosmos.tx.v1beta1.Service",
        "cosmos.base.tendermint.v1beta1.Service",
        "cosmos.consensus.v1.Query",
        "infera.store.v1.Query",
        "infera.models.v1.Query",
        "infera.inference.v1.Query",
        "grpc.health.v1.Health",
    } <= names


def test_reflection_resolves_an_infera_message_type(grpc_chain: GrpcHarness) -> None:
    request = reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="infera.store.v1.QueryProvenRequest"
    )
    answer = _reflect(grpc_chain, request)
    files = answer.file_descriptor_response.file_descriptor_proto  # type: ignore[attr-defined]
    parsed = [descriptor_pb2.FileDescriptorProto.FromString(f) for f in files]
    store_file = next(f for f in parsed if f.package == "infera.store.v1")
    fields = {m.name: [f.name for f in m.field] for m in store_file.message_type}
    assert fields["QueryProvenRequest"] == ["key", "height"]


def test_health_reports_serving(grpc_chain: GrpcHarness) -> None:
    stub = health_pb2_grpc.HealthStub(grpc_chain.channel)
    for service in ("", "cosmos.bank.v1beta1.Query", "infera.store.v1.Query"):
        status = stub.Check(health_pb2.HealthCheckRequest(service=service)).status
        assert status == health_pb2.HealthCheckResponse.SERVING
