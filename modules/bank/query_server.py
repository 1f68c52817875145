"""bank queries under the Cosmos SDK's paths (cosmpy calls Balance).

The listings (AllBalances, TotalSupply) are Cosmos pages (``chain.cosmos_pagination``): at most
1000 coins per page, 100 by default, next_key to go on.
"""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.cosmos_pagination import paginate
from chain.errors import ErrInvalidRequest
from chain.tx import is_valid_denom
from cosmos.bank.v1beta1 import bank_pb2, query_pb2
from cosmos.base.v1beta1 import coin_pb2
from modules.bank import keys
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
    """A page of an address's balances in denom order."""
    address = crypto.from_bech32(req.address)
    coins, page = paginate(ctx.store, keys.BALANCE + address, req.pagination, _coin)
    return query_pb2.QueryAllBalancesResponse(balances=coins, pagination=page)


def total_supply(
    ctx: Context, keeper: BankKeeper, req: query_pb2.QueryTotalSupplyRequest
) -> query_pb2.QueryTotalSupplyResponse:
    """A page of the supply of every denom, in denom order."""
    coins, page = paginate(ctx.store, keys.SUPPLY, req.pagination, _coin)
    return query_pb2.QueryTotalSupplyResponse(supply=coins, pagination=page)


def params(
    ctx: Context, keeper: BankKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    """The SDK's bank params. Infera's bank keeps none: every denom is sendable (MsgSend refuses
    only a module-account recipient), so ``default_send_enabled`` is true and the per-denom
    ``send_enabled`` list is empty (the SDK >= 0.47 keeps that list outside Params too)."""
    return query_pb2.QueryParamsResponse(params=bank_pb2.Params(default_send_enabled=True))


def _coin(denom: bytes, amount: bytes) -> coin_pb2.Coin:
    """A stored amount (decimal string) under its denom key, as a Coin."""
    return coin_pb2.Coin(denom=denom.decode(), amount=str(int(amount)))
