"""An asyncio ABCI socket server.

Framing (CometBFT ``libs/protoio``): every message is an unsigned varint length followed by the
protobuf bytes of ``tendermint.abci.Request``/``Response``. CometBFT opens four connections
(consensus, mempool, query, snapshot); each request is answered exactly once and in order, and
everything written before a Flush response reaches the socket before we read on. Requests run one
at a time across all connections (the app is single-threaded), so no locking is needed, except
Query: it runs on a worker thread (``QUERY_THREADS``) over a committed store snapshot, so a slow
query holds up only the query connection, never FinalizeBlock or Commit on the consensus one.
An ``exception`` response halts the node; we send one only when the app itself fails on a
request no outsider or byzantine proposer can shape (see ``dispatch``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import chain.pb  # noqa: F401

import structlog

from tendermint.abci import types_pb2 as abci

log = structlog.get_logger("chain.abci")

MAX_MESSAGE_BYTES = 256 << 20  # a whole block's txs travel in one FinalizeBlock request
QUERY_THREADS = 1  # threads answering ABCI Query (CometBFT sends them on one connection, in order)
OFF_LOOP = frozenset({"query"})  # requests answered on a worker thread, off the event loop
CODE_INTERNAL = 1  # the sdk codespace's "internal" code


class Application(Protocol):
    def info(self, req: Any) -> Any: ...


# Request oneof field -> (app method, response oneof field). Echo and Flush are answered here.
_METHODS = {
    "info": "info",
    "init_chain": "init_chain",
    "query": "query",
    "check_tx": "check_tx",
    "prepare_proposal": "prepare_proposal",
    "process_proposal": "process_proposal",
    "extend_vote": "extend_vote",
    "verify_vote_extension": "verify_vote_extension",
    "finalize_block": "finalize_block",
    "commit": "commit",
    "list_snapshots": "list_snapshots",
    "offer_snapshot": "offer_snapshot",
    "load_snapshot_chunk": "load_snapshot_chunk",
    "apply_snapshot_chunk": "apply_snapshot_chunk",
}


def encode_varint(value: int) -> bytes:
    """Go's ``binary.PutUvarint``."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


async def read_varint(reader: asyncio.StreamReader) -> int:
    """Read an unsigned varint; raises ``asyncio.IncompleteReadError`` at end of stream."""
    shift = result = 0
    while True:
        byte = (await reader.readexactly(1))[0]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def frame(message: Any) -> bytes:
    data = message.SerializeToString()
    return encode_varint(len(data)) + data


def _refusals() -> dict[str, Callable[[], Any]]:
    """The answer to each request an outsider, a byzantine proposer or a state-sync peer can
    shape, for when the app fails on it: a refusal (error code, REJECT, empty), never
    ``exception``."""
    process, verify = abci.ResponseProcessProposal, abci.ResponseVerifyVoteExtension
    offer, apply = abci.ResponseOfferSnapshot, abci.ResponseApplySnapshotChunk
    internal = {"code": CODE_INTERNAL, "codespace": "sdk", "log": "internal error"}
    return {
        "query": lambda: abci.ResponseQuery(**internal),
        "check_tx": lambda: abci.ResponseCheckTx(**internal),
        "prepare_proposal": abci.ResponsePrepareProposal,  # an empty block proposal
        "process_proposal": lambda: process(status=process.REJECT),
        "extend_vote": abci.ResponseExtendVote,  # abstain
        "verify_vote_extension": lambda: verify(status=verify.REJECT),
        # State sync: snapshots and chunks come from peers (chain/snapshots.py).
        "list_snapshots": abci.ResponseListSnapshots,  # none offered
        "offer_snapshot": lambda: offer(result=offer.REJECT),
        "load_snapshot_chunk": abci.ResponseLoadSnapshotChunk,  # chunk missing
        "apply_snapshot_chunk": lambda: apply(result=apply.REJECT_SNAPSHOT),
    }


_REFUSALS = _refusals()


def dispatch(app: Any, request: abci.Request) -> abci.Response:
    """Answer one request. A failure on a request others can shape (CheckTx, Query, the
    proposal, vote-extension and snapshot calls) is logged and refused (see ``_refusals``); a
    failure elsewhere (InitChain, FinalizeBlock, Commit...) is fatal and becomes an ``exception``
    response, which halts CometBFT."""
    kind = request.WhichOneof("value")
    if kind == "echo":
        return abci.Response(echo=abci.ResponseEcho(message=request.echo.message))
    if kind == "flush":
        return abci.Response(flush=abci.ResponseFlush())
    method = _METHODS.get(kind or "")
    if method is None:
        return abci.Response(exception=abci.ResponseException(error=f"unknown request {kind!r}"))
    response = abci.Response()
    try:
        getattr(response, kind).CopyFrom(getattr(app, method)(getattr(request, kind)))
    except Exception as exc:
        refuse = _REFUSALS.get(kind)
        if refuse is None:  # fatal: the app cannot go on safely
            log.exception("ABCI request failed", request=kind)
            return abci.Response(exception=abci.ResponseException(error=f"{kind}: {exc}"))
        log.exception("ABCI request failed; refused", request=kind)
        response = abci.Response()
        getattr(response, kind).CopyFrom(refuse())
    return response


class ABCIServer:
    """Serves an application to CometBFT on ``host:port``."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 26658) -> None:
        self.app, self.host, self.port = app, host, port
        self._server: asyncio.Server | None = None
        self._queries = ThreadPoolExecutor(QUERY_THREADS, thread_name_prefix="abci-query")

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        log.info("ABCI server listening", address=f"{self.host}:{self.port}")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._queries.shutdown(wait=False, cancel_futures=True)

    async def _answer(self, request: abci.Request) -> abci.Response:
        """``dispatch``, on a worker thread for the requests in ``OFF_LOOP``. The connection
        waits for the answer (order per connection holds); the other connections do not."""
        if request.WhichOneof("value") in OFF_LOOP:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._queries, dispatch, self.app, request)
        return dispatch(self.app, request)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        log.debug("ABCI connection opened", peer=str(peer))
        pending = bytearray()
        try:
            while True:
                length = await read_varint(reader)
                if length > MAX_MESSAGE_BYTES:
                    raise ValueError(f"ABCI message of {length} bytes exceeds the limit")
                request = abci.Request()
                request.ParseFromString(await reader.readexactly(length))
                response = await self._answer(request)
                # Answers go out in one write per Flush (CometBFT's client flushes every batch
                # within milliseconds): one syscall per batch instead of one per CheckTx.
                pending += frame(response)
                if (
                    request.WhichOneof("value") == "flush"
                    or response.WhichOneof("value") == "exception"
                ):
                    writer.write(bytes(pending))
                    pending.clear()
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            log.debug("ABCI connection closed", peer=str(peer))
        except Exception:
            log.exception("ABCI connection failed", peer=str(peer))
        finally:
            writer.close()
