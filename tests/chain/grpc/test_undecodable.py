"""Every method the gRPC server serves answers INVALID_ARGUMENT to request bytes that do not
decode (issue 12): never UNKNOWN or INTERNAL, and the server keeps serving. The methods are
enumerated through the server's own reflection service, so a new service or route is covered."""

from __future__ import annotations

import chain.pb  # noqa: F401

import grpc
from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from tests.chain.grpc.conftest import GrpcHarness

UNDECODABLE = (
    b"\xff\xff\xff\xff\xff",  # a tag with wire type 7 (no such type)
    b"\x0a\x05ab",  # field 1, length 5, only 2 bytes follow (truncated)
    b"\x08\x80\x80\x80",  # a varint that never ends
)


def _served_methods(h: GrpcHarness) -> list[tuple[str, bool]]:
    """(full method path, is unary-unary) for every method of every reflected service."""
    database = ProtoReflectionDescriptorDatabase(h.channel)
    pool = descriptor_pool.DescriptorPool(database)
    methods = []
    for service_name in database.get_services():
        service = pool.FindServiceByName(service_name)
        for method in service.methods:
            unary = not (method.client_streaming or method.server_streaming)
            methods.append((f"/{service.full_name}/{method.name}", unary))
    return sorted(methods)


def _code(call, payload: bytes) -> grpc.StatusCode:
    try:
        call(payload, timeout=10)
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def test_every_served_method_answers_invalid_argument_to_undecodable_bytes(
    grpc_chain: GrpcHarness,
) -> None:
    methods = _served_methods(grpc_chain)
    wrong, served = [], 0
    for path, unary in methods:
        if not unary:
            continue  # reflection's bidi stream: checked below
        call = grpc_chain.channel.unary_unary(path)  # raw bytes in and out
        if _code(call, b"") == grpc.StatusCode.UNIMPLEMENTED:
            continue  # in a served file's descriptor but not served (Cosmos methods we lack)
        served += 1
        for payload in UNDECODABLE:
            try:
                call(payload, timeout=10)
                wrong.append((path, payload, "OK"))
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                    wrong.append((path, payload, exc.code().name))
    assert served > 20, served  # tx, node, cosmos, infera router, health, ...
    assert sorted({(p, c) for p, _, c in wrong}) == []
    # still serving
    health = grpc_chain.channel.unary_unary("/grpc.health.v1.Health/Check")
    assert health(b"", timeout=10) == b"\x08\x01"  # SERVING
