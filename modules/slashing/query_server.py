"""slashing queries."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from infera.slashing.v1 import query_pb2
from modules.slashing.errors import ErrNoValidator
from modules.slashing.keeper import SlashingKeeper


def params(
    ctx: Context, keeper: SlashingKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))


def signing_info(
    ctx: Context, keeper: SlashingKeeper, req: query_pb2.QuerySigningInfoRequest
) -> query_pb2.QuerySigningInfoResponse:
    """The liveness record of a validator, by operator address (empty before its first vote)."""
    validator = keeper.staking.get_validator(ctx, crypto.from_bech32(req.validator_address))
    if validator is None:
        raise ErrNoValidator(req.validator_address)
    address = crypto.consensus_address(bytes(validator.consensus_pubkey))
    info = keeper.get_info(ctx, address)
    return (
        query_pb2.QuerySigningInfoResponse(info=info)
        if info
        else query_pb2.QuerySigningInfoResponse()
    )
