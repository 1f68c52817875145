"""staking queries."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.pagination import paginate
from infera.staking.v1 import query_pb2, types_pb2
from modules.staking import keys
from modules.staking.errors import ErrValidatorNotFound
from modules.staking.keeper import StakingKeeper


def validators(
    ctx: Context, keeper: StakingKeeper, req: query_pb2.QueryValidatorsRequest
) -> query_pb2.QueryValidatorsResponse:
    """A page of validators in operator-address order (at most 1000 per page)."""
    found, page = paginate(
        ctx.store,
        keys.VALIDATOR,
        req.pagination,
        lambda _, raw: types_pb2.Validator.FromString(raw),
    )
    return query_pb2.QueryValidatorsResponse(validators=found, pagination=page)


def validator(
    ctx: Context, keeper: StakingKeeper, req: query_pb2.QueryValidatorRequest
) -> query_pb2.QueryValidatorResponse:
    found = keeper.get_validator(ctx, crypto.from_bech32(req.operator_address))
    if found is None:
        raise ErrValidatorNotFound(req.operator_address)
    return query_pb2.QueryValidatorResponse(validator=found)


def params(
    ctx: Context, keeper: StakingKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))
