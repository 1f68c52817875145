"""``cosmos.tx.v1beta1.Service``: Simulate in the app, the rest forwarded to CometBFT RPC.

- Simulate runs the tx on a discarded branch of one committed snapshot, without the fee and
  gas-limit checks (``InferaApp.simulate``), on the query pool (never the consensus loop), with
  its gas bounded by the block max gas, and reports the gas used. cosmpy fills the
  deprecated ``tx`` field; ``tx_bytes`` is accepted too.
- BroadcastTx SYNC/ASYNC -> ``broadcast_tx_sync``/``broadcast_tx_async``; a failed CheckTx is a
  TxResponse with a non-zero code (as in the Cosmos SDK), not a gRPC error.
- GetTx -> ``/tx``; an unknown hash is NOT_FOUND "tx not found: HASH" (cosmpy keeps polling).
- GetTxsEvent -> ``/tx_search`` with the ``query`` (or the deprecated ``events`` joined by AND).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import chain.pb  # noqa: F401

import grpc
from google.protobuf.message import DecodeError

from chain.cli.rpc import NodeUnreachableError, RPCError
from chain.grpc.comet import AsyncComet
from chain.grpc.errors import GrpcAbort, guarded, invalid, not_found
from chain.grpc.pool import QueryPool
from cosmos.base.abci.v1beta1 import abci_pb2
from cosmos.tx.v1beta1 import service_pb2, service_pb2_grpc, tx_pb2
from tendermint.abci import types_pb2 as abci

HASH_RE = re.compile(r"(0x)?[0-9a-fA-F]{64}")  # fullmatch: no trailing newline
MAX_SEARCH_LIMIT = 100  # CometBFT's largest /tx_search page
MAX_SEARCH_PAGE = 1 << 31
# CometBFT mempool errors that are answers about the tx, with the Cosmos SDK code they get.
MEMPOOL_ERRORS = (
    ("tx already exists in cache", 19),
    ("mempool is full", 20),
    ("tx too large", 21),
)


def raw_tx(request: service_pb2.SimulateRequest) -> bytes:
    """The TxRaw bytes of a Simulate request: ``tx_bytes``, or the deprecated ``tx`` re-encoded."""
    if request.tx_bytes:
        return bytes(request.tx_bytes)
    if request.HasField("tx"):
        tx = request.tx
        return tx_pb2.TxRaw(
            body_bytes=tx.body.SerializeToString(),
            auth_info_bytes=tx.auth_info.SerializeToString(),
            signatures=list(tx.signatures),
        ).SerializeToString()
    raise invalid("empty tx: set tx_bytes (or tx)")


def decode_tx(raw: bytes) -> tx_pb2.Tx | None:
    """A committed tx as ``cosmos.tx.v1beta1.Tx``; None for bytes that are not a Cosmos tx."""
    try:
        tx_raw = tx_pb2.TxRaw.FromString(raw)
        tx = tx_pb2.Tx(signatures=list(tx_raw.signatures))
        tx.body.ParseFromString(tx_raw.body_bytes)
        tx.auth_info.ParseFromString(tx_raw.auth_info_bytes)
        return tx
    except DecodeError:
        return None


def events_from_json(items: list[dict[str, Any]]) -> list[abci.Event]:
    return [
        abci.Event(
            type=e.get("type", ""),
            attributes=[
                abci.EventAttribute(
                    key=a.get("key") or "", value=a.get("value") or "", index=bool(a.get("index"))
                )
                for a in e.get("attributes") or []
            ],
        )
        for e in items
    ]


def tx_response(found: dict[str, Any], timestamp: str) -> tuple[abci_pb2.TxResponse, tx_pb2.Tx]:
    """``/tx`` (or one ``/tx_search`` hit) as a Cosmos TxResponse and the decoded Tx."""
    result = found.get("tx_result") or {}
    raw = base64.b64decode(found.get("tx") or "")
    tx = decode_tx(raw) or tx_pb2.Tx()
    response = abci_pb2.TxResponse(
        height=int(found["height"]),
        txhash=str(found["hash"]).upper(),
        codespace=result.get("codespace") or "",
        code=int(result.get("code") or 0),
        data=base64.b64decode(result.get("data") or "").hex().upper(),
        raw_log=result.get("log") or "",
        info=result.get("info") or "",
        gas_wanted=int(result.get("gas_wanted") or 0),
        gas_used=int(result.get("gas_used") or 0),
        timestamp=timestamp,
        events=events_from_json(result.get("events") or []),
    )
    response.tx.Pack(tx, type_url_prefix="/")
    return response, tx


class TxService(service_pb2_grpc.ServiceServicer):
    def __init__(self, app: Any, comet: AsyncComet, pool: QueryPool) -> None:
        self.app = app
        self.comet = comet
        self.pool = pool

    @guarded
    async def Simulate(  # noqa: N802 - gRPC method name
        self, request: service_pb2.SimulateRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.SimulateResponse:
        outcome = await self.pool.run(self.app.simulate, raw_tx(request))
        if not outcome.ok:
            raise invalid(
                f"{outcome.log} (codespace {outcome.codespace}, code {outcome.code}); "
                f"gasWanted: {outcome.gas_wanted}, gasUsed: {outcome.gas_used}"
            )
        msg_data = abci_pb2.TxMsgData.FromString(outcome.data)
        return service_pb2.SimulateResponse(
            gas_info=abci_pb2.GasInfo(gas_wanted=outcome.gas_wanted, gas_used=outcome.gas_used),
            result=abci_pb2.Result(
                data=outcome.data,
                log=outcome.log,
                events=[e.to_abci() for e in outcome.events],
                msg_responses=list(msg_data.msg_responses),
            ),
        )

    @guarded
    async def BroadcastTx(  # noqa: N802 - gRPC method name
        self, request: service_pb2.BroadcastTxRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.BroadcastTxResponse:
        raw = bytes(request.tx_bytes)
        if not raw:
            raise invalid("empty tx_bytes")
        methods = {
            service_pb2.BROADCAST_MODE_SYNC: "broadcast_tx_sync",
            service_pb2.BROADCAST_MODE_ASYNC: "broadcast_tx_async",
        }
        method = methods.get(request.mode)
        if method is None:
            raise invalid(f"unsupported broadcast mode {request.mode}: use SYNC or ASYNC")
        txhash = hashlib.sha256(raw).hexdigest().upper()
        try:
            result = await self.comet.call(method, tx=base64.b64encode(raw).decode())
        except NodeUnreachableError:
            raise
        except RPCError as err:
            return service_pb2.BroadcastTxResponse(tx_response=_mempool_error(err, txhash))
        return service_pb2.BroadcastTxResponse(
            tx_response=abci_pb2.TxResponse(
                txhash=str(result.get("hash") or txhash).upper(),
                code=int(result.get("code") or 0),
                codespace=result.get("codespace") or "",
                raw_log=result.get("log") or "",
                data=str(result.get("data") or "").upper(),
            )
        )

    @guarded
    async def GetTx(  # noqa: N802 - gRPC method name
        self, request: service_pb2.GetTxRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.GetTxResponse:
        if not HASH_RE.fullmatch(request.hash):
            raise invalid(f"invalid tx hash {request.hash!r}: expected 64 hex characters")
        txhash = request.hash.removeprefix("0x").upper()
        found = await self.comet.run(lambda rpc: rpc.tx(txhash))
        if found is None:
            raise not_found(f"tx not found: {txhash}")
        timestamp = await self._block_time(int(found["height"]))
        response, tx = tx_response(found, timestamp)
        return service_pb2.GetTxResponse(tx=tx, tx_response=response)

    @guarded
    async def GetTxsEvent(  # noqa: N802 - gRPC method name
        self, request: service_pb2.GetTxsEventRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.GetTxsEventResponse:
        query = request.query or " AND ".join(request.events)
        if not query.strip():
            raise invalid("query cannot be empty, e.g. \"message.sender='infera1...'\"")
        limit = request.limit or MAX_SEARCH_LIMIT
        page = request.page or 1
        if limit > MAX_SEARCH_LIMIT:
            raise invalid(f"limit {limit} exceeds {MAX_SEARCH_LIMIT}")
        if page > MAX_SEARCH_PAGE:
            raise invalid(f"page {page} is out of range")
        order = "desc" if request.order_by == service_pb2.ORDER_BY_DESC else "asc"
        try:
            result = await self.comet.call(
                "tx_search", query=query, page=str(page), per_page=str(limit), order_by=order
            )
        except NodeUnreachableError:
            raise
        except RPCError as err:  # a malformed query or a page past the end
            raise invalid(str(err)) from None
        out = service_pb2.GetTxsEventResponse(total=int(result.get("total_count") or 0))
        times: dict[int, str] = {}
        for found in result.get("txs") or []:
            height = int(found["height"])
            if height not in times:
                times[height] = await self._block_time(height)
            response, tx = tx_response(found, times[height])
            out.tx_responses.append(response)
            out.txs.append(tx)
        return out

    async def _block_time(self, height: int) -> str:
        """The block time of ``height`` as CometBFT writes it (RFC 3339), or "" if unknown."""
        try:
            header = await self.comet.call("header", height=str(height))
            return str(header["header"]["time"])
        except (RPCError, KeyError, TypeError):
            return ""


def _mempool_error(err: RPCError, txhash: str) -> abci_pb2.TxResponse:
    """A CometBFT broadcast error that is about the tx, as a Cosmos TxResponse."""
    text = str(err)
    for needle, code in MEMPOOL_ERRORS:
        if needle in text:
            return abci_pb2.TxResponse(txhash=txhash, code=code, codespace="sdk", raw_log=text)
    raise GrpcAbort(grpc.StatusCode.UNAVAILABLE, f"broadcast failed: {text}")
