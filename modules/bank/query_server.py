"""bank queries under the Cosmos SDK's paths (cosmpy calls Balance)."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.errors import ErrInvalidRequest
from chain.tx import is_valid_denom
from cosmos.bank.v1beta1 import query_pb2
from cosmos.base.v1beta1 import coin_pb2
from modules.bank.keeper import BankKeeper


def balance(
    ctx: Context, keeper: BankKeeper, req: query_pb2.QueryBalanceRequest
) -> query_pb2.QueryBalanceResponse:
    address = crypto.from_bech32(req.address)
    if not is_valid_denom(req.denom):
        raise ErrInvalidRequest(f"invalid denom {req.denom!r}")
    amount = keeper.get_balance(ctx, address, req.denom)
    return query_pb2.QueryBalanceResponse(
        balance=coin_pb2.Coin(denom=req.denom, amount=str(amount))
    )


def all_balances(
    ctx: Context, keeper: BankKeeper, req: query_pb2.QueryAllBalancesRequest
) -> query_pb2.QueryAllBalancesResponse:
    address = crypto.from_bech32(req.address)
    coins = keeper.get_all_balances(ctx, address)
    return query_pb2.QueryAllBalancesResponse(
        balances=[coin_pb2.Coin(denom=c.denom, amount=str(c.amount)) for c in coins]
    )


def total_supply(
    ctx: Context, keeper: BankKeeper, req: query_pb2.QueryTotalSupplyRequest
) -> query_pb2.QueryTotalSupplyResponse:
    return query_pb2.QueryTotalSupplyResponse(
        supply=[
            coin_pb2.Coin(denom=c.denom, amount=str(c.amount)) for c in keeper.iterate_supply(ctx)
        ]
    )
