"""``cosmos.base.tendermint.v1beta1.Service``: blocks, node info, sync state and validator sets
from CometBFT RPC, and ABCIQuery answered by the app directly (on the query pool).
"""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

import grpc

from chain import crypto
from chain.cli.rpc import NodeUnreachableError, RPCError
from chain.cometbft import (
    CometDataError,
    block_from_json,
    block_id_from_json,
    validators_from_json,
)
from chain.grpc.comet import AsyncComet
from chain.grpc.errors import GrpcAbort, guarded, invalid, not_found
from chain.grpc.pool import QueryPool
from cosmos.base.query.v1beta1 import pagination_pb2 as query_pb2
from cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from cosmos.base.tendermint.v1beta1 import query_pb2_grpc as tm_grpc
from cosmos.base.tendermint.v1beta1 import types_pb2 as sdk_types
from cosmos.crypto.ed25519 import keys_pb2 as ed25519_pb2
from tendermint.abci import types_pb2 as abci
from tendermint.p2p import types_pb2 as p2p
from tendermint.types import block_pb2

APP_NAME = "infera"
APP_VERSION = "0.1.0"
# The Cosmos SDK API level these services follow; clients (cosmpy) parse it as a version.
COSMOS_SDK_API_VERSION = "v0.50.0"
VALCONS_PREFIX = crypto.ACCOUNT_PREFIX + "valcons"
MAX_VALIDATORS_PAGE = 100


def sdk_block(block: block_pb2.Block) -> sdk_types.Block:
    """The Cosmos form of a block: the same, with a bech32 proposer address."""
    out = sdk_types.Block(data=block.data, evidence=block.evidence, last_commit=block.last_commit)
    h = block.header
    out.header.CopyFrom(
        sdk_types.Header(
            version=h.version,
            chain_id=h.chain_id,
            height=h.height,
            time=h.time,
            last_block_id=h.last_block_id,
            last_commit_hash=h.last_commit_hash,
            data_hash=h.data_hash,
            validators_hash=h.validators_hash,
            next_validators_hash=h.next_validators_hash,
            consensus_hash=h.consensus_hash,
            app_hash=h.app_hash,
            last_results_hash=h.last_results_hash,
            evidence_hash=h.evidence_hash,
            proposer_address=crypto.to_bech32(h.proposer_address, VALCONS_PREFIX)
            if h.proposer_address
            else "",
        )
    )
    return out


def node_info(status: dict[str, Any]) -> p2p.DefaultNodeInfo:
    info = status["node_info"]
    version = info.get("protocol_version") or {}
    other = info.get("other") or {}
    return p2p.DefaultNodeInfo(
        protocol_version=p2p.ProtocolVersion(
            p2p=int(version.get("p2p") or 0),
            block=int(version.get("block") or 0),
            app=int(version.get("app") or 0),
        ),
        default_node_id=info.get("id", ""),
        listen_addr=info.get("listen_addr", ""),
        network=info.get("network", ""),
        version=info.get("version", ""),
        channels=bytes.fromhex(info.get("channels") or ""),
        moniker=info.get("moniker", ""),
        other=p2p.DefaultNodeInfoOther(
            tx_index=other.get("tx_index", ""), rpc_address=other.get("rpc_address", "")
        ),
    )


class NodeService(tm_grpc.ServiceServicer):
    def __init__(self, app: Any, comet: AsyncComet, pool: QueryPool) -> None:
        self.app = app
        self.comet = comet
        self.pool = pool  # ABCIQuery runs here, off every event loop

    async def _block(self, height: int | None) -> tuple[Any, block_pb2.Block]:
        params = {} if height is None else {"height": str(height)}
        try:
            result = await self.comet.call("block", **params)
        except RPCError as err:
            text = str(err)
            if "must be less than or equal to" in text or "must be greater than" in text:
                raise invalid(f"height {height} is not a committed block: {text}") from None
            if "is not available" in text:
                raise not_found(f"block {height} is pruned: {text}") from None
            raise
        try:
            return block_id_from_json(result["block_id"]), block_from_json(result["block"])
        except (CometDataError, KeyError) as exc:
            raise GrpcAbort(
                grpc.StatusCode.UNAVAILABLE, f"bad block from CometBFT: {exc}"
            ) from None

    @guarded
    async def GetLatestBlock(  # noqa: N802 - gRPC method name
        self, request: tm_query.GetLatestBlockRequest, context: grpc.aio.ServicerContext
    ) -> tm_query.GetLatestBlockResponse:
        block_id, block = await self._block(None)
        return tm_query.GetLatestBlockResponse(
            block_id=block_id, block=block, sdk_block=sdk_block(block)
        )

    @guarded
    async def GetBlockByHeight(  # noqa: N802 - gRPC method name
        self, request: tm_query.GetBlockByHeightRequest, context: grpc.aio.ServicerContext
    ) -> tm_query.GetBlockByHeightResponse:
        if request.height <= 0:
            raise invalid(f"height must be positive, got {request.height}")
        block_id, block = await self._block(request.height)
        return tm_query.GetBlockByHeightResponse(
            block_id=block_id, block=block, sdk_block=sdk_block(block)
        )

    @guarded
    async def GetNodeInfo(  # noqa: N802 - gRPC method name
        self, request: tm_query.GetNodeInfoRequest, context: grpc.aio.ServicerContext
    ) -> tm_query.GetNodeInfoResponse:
        status = await self.comet.call("status")
        return tm_query.GetNodeInfoResponse(
            default_node_info=node_info(status),
            application_version=tm_query.VersionInfo(
                name=APP_NAME,
                app_name=APP_NAME,
                version=APP_VERSION,
                cosmos_sdk_version=COSMOS_SDK_API_VERSION,
            ),
        )

    @guarded
    async def GetSyncing(  # noqa: N802 - gRPC method name
        self, request: tm_query.GetSyncingRequest, context: grpc.aio.ServicerContext
    ) -> tm_query.GetSyncingResponse:
        status = await self.comet.call("status")
        return tm_query.GetSyncingResponse(syncing=bool(status["sync_info"]["catching_up"]))

    @guarded
    async def GetLatestValidatorSet(  # noqa: N802 - gRPC method name
        self, request: tm_query.GetLatestValidatorSetRequest, context: grpc.aio.ServicerContext
    ) -> tm_query.GetLatestValidatorSetResponse:
        height, validators, total = await self._validators(None, request.pagination)
        return tm_query.GetLatestValidatorSetResponse(
            block_height=height,
            validators=validators,
            pagination=query_pb2.PageResponse(total=total),
        )

    @guarded
    async def GetValidatorSetByHeight(  # noqa: N802 - gRPC method name
        self, request: tm_query.GetValidatorSetByHeightRequest, context: grpc.aio.ServicerContext
    ) -> tm_query.GetValidatorSetByHeightResponse:
        if request.height <= 0:
            raise invalid(f"height must be positive, got {request.height}")
        height, validators, total = await self._validators(request.height, request.pagination)
        return tm_query.GetValidatorSetByHeightResponse(
            block_height=height,
            validators=validators,
            pagination=query_pb2.PageResponse(total=total),
        )

    async def _validators(
        self, height: int | None, page: Any
    ) -> tuple[int, list[tm_query.Validator], int]:
        """One page of the validator set (offset/limit pagination, at most 100 per page)."""
        limit = page.limit or MAX_VALIDATORS_PAGE
        if limit > MAX_VALIDATORS_PAGE or page.offset % limit:
            raise invalid("pagination: limit must be 1..100 and offset a multiple of it")
        params = {"page": str(page.offset // limit + 1), "per_page": str(limit)}
        if height is not None:
            params["height"] = str(height)
        try:
            result = await self.comet.call("validators", **params)
        except NodeUnreachableError:
            raise
        except RPCError as err:  # a height not kept or past the chain's end
            raise invalid(str(err)) from None
        out = []
        for v in validators_from_json(result["validators"]):
            out.append(
                tm_query.Validator(
                    address=crypto.to_bech32(v.address, VALCONS_PREFIX),
                    voting_power=v.voting_power,
                    proposer_priority=v.proposer_priority,
                )
            )
            out[-1].pub_key.Pack(ed25519_pb2.PubKey(key=v.pub_key.ed25519), type_url_prefix="/")
        return int(result["block_height"]), out, int(result["total"])

    @guarded
    async def ABCIQuery(  # noqa: N802 - gRPC method name
        self, request: tm_query.ABCIQueryRequest, context: grpc.aio.ServicerContext
    ) -> tm_query.ABCIQueryResponse:
        if request.height < 0:
            raise invalid(f"negative height {request.height}")
        query = abci.RequestQuery(
            data=request.data, path=request.path, height=request.height, prove=request.prove
        )
        answer = await self.pool.run(self.app.query, query)
        response = tm_query.ABCIQueryResponse(
            code=answer.code,
            log=answer.log,
            info=answer.info,
            index=answer.index,
            key=answer.key,
            value=answer.value,
            height=answer.height,
            codespace=answer.codespace,
        )
        for op in answer.proof_ops.ops:
            response.proof_ops.ops.add(type=op.type, key=op.key, data=op.data)
        return response
