"""bank genesis: balances (minted, so supply equals their sum)."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain import crypto
from chain.context import Context
from chain.tx import parse_coins
from infera.bank.v1 import genesis_pb2
from modules.bank.keeper import BankKeeper


def init_genesis(ctx: Context, keeper: BankKeeper, data: dict[str, Any]) -> None:
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    for balance in genesis.balances:
        keeper.mint_coins(
            ctx, crypto.from_bech32(balance.address), parse_coins(list(balance.coins))
        )


def export_genesis(ctx: Context, keeper: BankKeeper) -> dict[str, Any]:
    by_address: dict[bytes, genesis_pb2.Balance] = {}
    for address, coin in keeper.iterate_balances(ctx):
        entry = by_address.setdefault(
            address, genesis_pb2.Balance(address=crypto.to_bech32(address))
        )
        entry.coins.add(denom=coin.denom, amount=str(coin.amount))
    genesis = genesis_pb2.GenesisState(balances=[by_address[a] for a in sorted(by_address)])
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
