"""staking queries."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.pagination import paginate
from infera.staking.v1 import query_pb2, types_pb2
from modules.staking import keys
from modules.staking.errors import ErrNoDelegation, ErrValidatorNotFound
from modules.staking.keeper import StakingKeeper, tokens_of_shares


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


def delegation(
    ctx: Context, keeper: StakingKeeper, req: query_pb2.QueryDelegationRequest
) -> query_pb2.QueryDelegationResponse:
    delegator = crypto.from_bech32(req.delegator_address)
    operator = crypto.from_bech32(req.validator_address)
    found = keeper.get_delegation(ctx, delegator, operator)
    validator = keeper.get_validator(ctx, operator)
    if found is None or validator is None:
        raise ErrNoDelegation(f"{req.delegator_address} -> {req.validator_address}")
    tokens = tokens_of_shares(validator, int(found.shares))
    return query_pb2.QueryDelegationResponse(delegation=found, tokens=str(tokens))


def delegator_delegations(
    ctx: Context, keeper: StakingKeeper, req: query_pb2.QueryDelegatorDelegationsRequest
) -> query_pb2.QueryDelegatorDelegationsResponse:
    """A page of one delegator's delegations in validator-address order."""
    prefix = keys.DELEGATION + crypto.from_bech32(req.delegator_address)
    found, page = paginate(
        ctx.store, prefix, req.pagination, lambda _, raw: types_pb2.Delegation.FromString(raw)
    )
    return query_pb2.QueryDelegatorDelegationsResponse(delegations=found, pagination=page)


def unbonding_delegation(
    ctx: Context, keeper: StakingKeeper, req: query_pb2.QueryUnbondingDelegationRequest
) -> query_pb2.QueryUnbondingDelegationResponse:
    delegator = crypto.from_bech32(req.delegator_address)
    operator = crypto.from_bech32(req.validator_address)
    found = keeper.get_unbonding(ctx, delegator, operator)
    if found is None:
        raise ErrNoDelegation(f"no unbonding {req.delegator_address} -> {req.validator_address}")
    return query_pb2.QueryUnbondingDelegationResponse(unbonding=found)
