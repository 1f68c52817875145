"""``infera query``: read chain state through ABCI queries over CometBFT RPC (``abci_query``)."""

from __future__ import annotations

import chain.pb  # noqa: F401

import typer

from chain import crypto
from chain.cli import modules as module_queries
from chain.cli.common import CLIError, NodeOption, OutputOption, emit
from chain.cli.rpc import CometRPC
from chain.errors import ChainError
from cosmos.bank.v1beta1 import query_pb2 as bank_query

app = typer.Typer(help="Query chain state.", no_args_is_help=True)
bank_app = typer.Typer(help="Bank queries.", no_args_is_help=True)
app.add_typer(bank_app, name="bank")
module_queries.register(app)  # inference, agreement, workers, models, sharding


def query_balance(rpc: CometRPC, address: str, denom: str, height: int = 0) -> int:
    """The balance of ``address`` in ``denom`` (0 when it holds none)."""
    response = rpc.query(
        "/cosmos.bank.v1beta1.Query/Balance",
        bank_query.QueryBalanceRequest(address=address, denom=denom),
        bank_query.QueryBalanceResponse,
        height,
    )
    return int(response.balance.amount or 0)  # type: ignore[attr-defined]


def query_all_balances(rpc: CometRPC, address: str, height: int = 0) -> list[tuple[int, str]]:
    response = rpc.query(
        "/cosmos.bank.v1beta1.Query/AllBalances",
        bank_query.QueryAllBalancesRequest(address=address),
        bank_query.QueryAllBalancesResponse,
        height,
    )
    return [(int(c.amount), c.denom) for c in response.balances]  # type: ignore[attr-defined]


@bank_app.command("balance")
def balance(
    address: str = typer.Argument(..., help="Bech32 address (infera1...)."),
    denom: str = typer.Option("", "--denom", help="One denom (default: every balance)."),
    height: int = typer.Option(0, "--height", help="Query at this height (0 = latest)."),
    node: str = NodeOption,
    output: str = OutputOption,
) -> None:
    """Print the balance(s) of an address."""
    try:
        crypto.from_bech32(address)
    except ChainError as err:
        raise CLIError(err.log) from None
    rpc = CometRPC(node)
    if denom:
        coins = [(query_balance(rpc, address, denom, height), denom)]
    else:
        coins = query_all_balances(rpc, address, height)
    data = {"address": address, "balances": [{"denom": d, "amount": str(a)} for a, d in coins]}
    emit(data, output, "\n".join(f"{a}{d}" for a, d in coins) or "(no balance)")
