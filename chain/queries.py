"""Read-only queries over committed state, as ABCI ``Query`` and for the gRPC server.

Paths:
- ``/store/key``: the raw value of ``data`` (a state key) at ``height`` (0 = latest), with a
  Merkle proof against that height's app hash when ``prove`` is set. The app hash of height H is
  in the header of block H+1.
- any registered query path (e.g. ``/cosmos.bank.v1beta1.Query/Balance``): ``data`` is the
  protobuf request; the answer is the protobuf response.
- the gRPC server's own services (``/cosmos.tx.v1beta1.Service/Simulate``, blocks, node info...)
  the same way, while the gRPC server runs (``grpc_routes``, chain/grpc/abci_routes.py).
Historical heights support point reads; listing queries read the latest state only.

Queries run on threads of their own (the gRPC server's query pool, the ABCI query connection's
worker), never on the event loop that executes blocks, so no query can delay FinalizeBlock or
Commit. Each query reads one ``StoreSnapshot``: the committed height it resolved, pinned for the
whole query, so a commit landing meanwhile is invisible to it and it never sees half a block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import chain.pb  # noqa: F401

import structlog
from google.protobuf.message import DecodeError, Message

from chain.context import BlockInfo, Context, ExecMode
from chain.errors import ChainError, ErrInvalidRequest, ErrNotSupported
from chain.module import Router
from chain.store import CommitStore, KVStore, StoreSnapshot
from chain.store.proof import encode_proof
from tendermint.abci import types_pb2 as abci
from tendermint.crypto import proof_pb2

log = structlog.get_logger("chain.queries")

STORE_KEY_PATH = "/store/key"
PROOF_OP_TYPE = "infera:smt:v1"
MAX_QUERY_KEY_BYTES = 1024


class HistoricalView:
    """Point reads of a retained past version (iteration is only offered on the latest state)."""

    def __init__(self, store: CommitStore, version: int) -> None:
        self._store, self._version = store, version

    def get(self, key: bytes) -> bytes | None:
        """The value at this version; a version pruned while the query runs is a clear error."""
        try:
            return self._store.get_at(key, self._version)
        except LookupError as exc:  # chain.store.VersionError: pruned meanwhile
            raise ErrInvalidRequest(
                f"height {self._version} is no longer retained: {exc}"
            ) from None

    def set(self, key: bytes, value: bytes) -> None:
        raise ErrNotSupported("historical state is read-only")

    def delete(self, key: bytes) -> None:
        raise ErrNotSupported("historical state is read-only")

    def iterate(
        self, start: bytes, end: bytes | None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        raise ErrNotSupported("listing queries are served at the latest height only")


class GrpcRoutes(Protocol):
    """gRPC methods answered through ABCI Query (path = full method name), as in the SDK."""

    def handles(self, path: str) -> bool: ...

    def query(self, req: abci.RequestQuery) -> abci.ResponseQuery: ...


@dataclass
class QueryService:
    store: CommitStore
    router: Router
    # The block a query reads as: chain id, the snapshot's height and its block time.
    block_info: Callable[[StoreSnapshot], BlockInfo]
    # The gRPC services answered through ABCI Query too (chain/grpc/abci_routes.py): set by the
    # gRPC server while it runs; None without one.
    grpc_routes: GrpcRoutes | None = None

    def resolve_height(self, height: int, latest: int | None = None) -> int:
        """0 means latest; otherwise the height must be committed and retained.

        ``latest`` is the height of the snapshot being read (default: the store's last height).
        """
        latest = self.store.last_height if latest is None else latest
        if height < 0:
            raise ErrInvalidRequest(f"negative height {height}")
        if height == 0 or height == latest:
            return latest
        if height > latest:
            raise ErrInvalidRequest(f"height {height} is in the future; latest is {latest}")
        oldest, _ = self.store.retained_versions()
        if height < oldest:
            raise ErrInvalidRequest(f"height {height} is pruned; oldest retained is {oldest}")
        return height

    @contextmanager
    def reading(self, height: int = 0) -> Iterator[Context]:
        """A query context over one committed height (0 = latest), pinned until the block ends.

        The latest height is read from a store snapshot; an older retained height by point
        reads of its tree (``HistoricalView``), which never change either.
        """
        with self.store.snapshot() as snapshot:
            resolved = self.resolve_height(height, snapshot.height)
            view: KVStore = (
                snapshot if resolved == snapshot.height else HistoricalView(self.store, resolved)
            )
            block = self.block_info(snapshot)
            yield Context(
                store=view,
                block=BlockInfo(block.chain_id, resolved, block.time_ns),
                mode=ExecMode.QUERY,
            )

    def run(self, path: str, request: Message, height: int = 0) -> tuple[int, Message]:
        """Run a registered query with an already-decoded request: (height read, response)."""
        route = self.router.query_route(path)
        with self.reading(height) as ctx:
            return ctx.block.height, route.handler(ctx, request)

    def abci_query(self, req: abci.RequestQuery) -> abci.ResponseQuery:
        try:
            if req.path == STORE_KEY_PATH:
                return self._store_key(req)
            routes = self.grpc_routes
            if routes is not None and routes.handles(req.path):
                return routes.query(req)
            route = self.router.query_route(req.path)
            request = route.request_class()
            try:
                request.ParseFromString(req.data)
            except DecodeError as exc:
                raise ErrInvalidRequest(
                    f"cannot decode {route.request_class.__name__}: {exc}"
                ) from None
            height, response = self.run(req.path, request, req.height)
            return abci.ResponseQuery(value=response.SerializeToString(), height=height)
        except ChainError as err:
            return abci.ResponseQuery(code=err.code, codespace=err.codespace, log=err.log)
        except Exception:  # a bug in a handler: an error answer, never an ABCI exception
            log.exception("query failed unexpectedly", path=req.path)
            return abci.ResponseQuery(code=1, codespace="sdk", log="internal error")

    def _store_key(self, req: abci.RequestQuery) -> abci.ResponseQuery:
        if not req.data or len(req.data) > MAX_QUERY_KEY_BYTES:
            raise ErrInvalidRequest(f"store key must be 1..{MAX_QUERY_KEY_BYTES} bytes")
        height = self.resolve_height(req.height)
        if not req.prove:
            value = self.store.get_at(req.data, height)
            return abci.ResponseQuery(key=req.data, value=value or b"", height=height)
        value, proof = self.store.prove(req.data, height)
        op = proof_pb2.ProofOp(type=PROOF_OP_TYPE, key=req.data, data=encode_proof(proof))
        return abci.ResponseQuery(
            key=req.data,
            value=value or b"",
            height=height,
            proof_ops=proof_pb2.ProofOps(ops=[op]),
            info="exists" if value is not None else "absent",
        )
