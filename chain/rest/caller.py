"""Calls to the node's gRPC port (the only thing the REST server and the explorer talk to).

One ``grpc.aio`` channel, made on the serving event loop; requests and responses travel as bytes
(``GrpcCaller.call_raw``) or as messages (``GrpcCaller.call``). A gRPC status becomes a
``RestError`` with the same code and the node's message. At most ``max_in_flight`` calls are sent
at once (the rest wait here): the node's query pool refuses calls beyond 64 running or waiting
(RESOURCE_EXHAUSTED), and one explorer page fans out to a few calls per worker.
"""

from __future__ import annotations

import asyncio
import re
from typing import TypeVar

import chain.pb  # noqa: F401

import grpc
from google.protobuf.message import DecodeError, Message
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from chain.rest.errors import RestError

HEIGHT_HEADER = "x-cosmos-block-height"
MAX_MESSAGE_BYTES = 16 << 20  # as the node's server (a block with many txs)
HEIGHT_RE = re.compile(r"[0-9]{1,19}")  # fullmatch
M = TypeVar("M", bound=Message)


class GrpcCaller:
    """The node's gRPC services, called from one event loop."""

    def __init__(self, address: str, timeout_s: float = 30.0, max_in_flight: int = 16) -> None:
        self.address, self.timeout_s = address, timeout_s
        self.in_flight = asyncio.Semaphore(max_in_flight)  # calls sent and not answered yet
        options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ]
        self.channel = grpc.aio.insecure_channel(address, options=options)

    async def close(self) -> None:
        await self.channel.close()

    async def call_raw(self, path: str, request: bytes, height: int = 0) -> tuple[bytes, int]:
        """Call ``path`` (``/pkg.Service/Method``) with request bytes; (response bytes, height
        the node says it read, 0 when it says none)."""
        metadata = ((HEIGHT_HEADER, str(height)),) if height > 0 else ()
        method = self.channel.unary_unary(path)
        async with self.in_flight:
            call = method(request, metadata=metadata, timeout=self.timeout_s)
            try:
                response = await call
                initial = await call.initial_metadata()
            except grpc.aio.AioRpcError as err:
                raise RestError(err.code(), err.details() or err.code().name) from None
        read = 0
        for key, value in initial or ():
            if key == HEIGHT_HEADER and HEIGHT_RE.fullmatch(str(value)):
                read = int(str(value))
        return bytes(response), read

    async def call(
        self, path: str, request: Message, response_class: type[M], height: int = 0
    ) -> M:
        """Call ``path`` with ``request``; the decoded response."""
        raw, _ = await self.call_raw(path, request.SerializeToString(), height)
        response = response_class()
        try:
            response.ParseFromString(raw)
        except DecodeError as err:
            raise RestError(
                grpc.StatusCode.INTERNAL, f"undecodable answer of {path}: {err}"
            ) from None
        return response

    async def services(self) -> list[str]:
        """The services the node serves, from its gRPC reflection."""
        stub = reflection_pb2_grpc.ServerReflectionStub(self.channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")

        async def one() -> object:
            yield request

        try:
            async for answer in stub.ServerReflectionInfo(one(), timeout=self.timeout_s):
                return sorted(s.name for s in answer.list_services_response.service)
        except grpc.aio.AioRpcError as err:
            raise RestError(err.code(), f"gRPC reflection: {err.details()}") from None
        return []
