"""``infera tx``: build, sign (cosmpy, SIGN_MODE_DIRECT), broadcast and await transactions.

Transactions go to CometBFT RPC ``broadcast_tx_sync`` (CheckTx result), then the CLI polls
``/tx`` until the transaction is committed and prints its result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chain.pb  # noqa: F401

import typer
from cosmpy.aerial.tx import SigningCfg, Transaction, TxFee
from cosmpy.aerial.wallet import LocalWallet

from chain import crypto
from chain.cli.common import CLIError, HomeOption, NodeOption, OutputOption, emit, parse_coins
from chain.cli.rpc import CometRPC, QueryError
from chain.errors import ChainError
from chain.keyring import Keyring
from cosmos.auth.v1beta1 import auth_pb2
from cosmos.auth.v1beta1 import query_pb2 as auth_query
from cosmos.bank.v1beta1 import tx_pb2 as bank_tx
from cosmos.base.v1beta1 import coin_pb2

DEFAULT_GAS = 200_000
DEFAULT_GAS_PRICE = 0.025  # uinfera per gas: the presets' auth min_gas_price
ACCOUNT_QUERY = "/cosmos.auth.v1beta1.Query/Account"

app = typer.Typer(help="Create, sign and broadcast transactions.", no_args_is_help=True)
bank_app = typer.Typer(help="Bank transactions.", no_args_is_help=True)
app.add_typer(bank_app, name="bank")


@dataclass(frozen=True)
class AccountState:
    account_number: int
    sequence: int


def get_account(rpc: CometRPC, address: str) -> AccountState:
    """Account number and next sequence from committed state; CLIError if the account is new."""
    try:
        response = rpc.query(
            ACCOUNT_QUERY,
            auth_query.QueryAccountRequest(address=address),
            auth_query.QueryAccountResponse,
        )
    except QueryError as err:
        if "not found" in err.log:
            raise CLIError(
                f"account {address} not found on chain: it has never received funds"
            ) from None
        raise
    account = auth_pb2.BaseAccount()
    response.account.Unpack(account)  # type: ignore[attr-defined]
    return AccountState(account.account_number, account.sequence)


def default_fee(gas: int) -> str:
    return f"{math.ceil(gas * DEFAULT_GAS_PRICE)}uinfera"


def sign_tx(
    wallet: LocalWallet,
    msgs: list[Any],
    *,
    chain_id: str,
    account: AccountState,
    gas: int,
    fee: str,
    memo: str = "",
) -> bytes:
    """A signed ``TxRaw`` built with cosmpy's ``Transaction`` (SIGN_MODE_DIRECT)."""
    tx = Transaction()
    for msg in msgs:
        tx.add_message(msg)
    tx.seal(
        SigningCfg.direct(wallet.public_key(), account.sequence),
        fee=TxFee(amount=fee, gas_limit=gas),
        memo=memo,
    )
    tx.sign(wallet.signer(), chain_id, account.account_number, deterministic=True)
    tx.complete()
    return bytes(tx.tx.SerializeToString())


def send_msg(sender: str, recipient: str, coins: list[tuple[int, str]]) -> bank_tx.MsgSend:
    return bank_tx.MsgSend(
        from_address=sender,
        to_address=recipient,
        amount=[coin_pb2.Coin(denom=d, amount=str(a)) for a, d in coins],
    )


def broadcast_and_wait(rpc: CometRPC, raw: bytes, *, wait: bool, timeout: float) -> dict[str, Any]:
    """broadcast_tx_sync, then (if ``wait``) poll until committed; a flat result dictionary."""
    checked = rpc.broadcast_tx_sync(raw)
    result: dict[str, Any] = {
        "txhash": checked["hash"],
        "height": 0,
        "code": int(checked.get("code") or 0),
        "codespace": checked.get("codespace", ""),
        "log": checked.get("log", ""),
    }
    if result["code"] != 0 or not wait:
        return result
    try:
        committed = rpc.wait_tx(checked["hash"], timeout=timeout)
    except TimeoutError as err:
        raise CLIError(f"{err}; it may still be included later (query it by hash)") from None
    tx_result = committed["tx_result"]
    result.update(
        height=int(committed["height"]),
        code=int(tx_result.get("code") or 0),
        codespace=tx_result.get("codespace", ""),
        log=tx_result.get("log", ""),
        gas_wanted=int(tx_result.get("gas_wanted") or 0),
        gas_used=int(tx_result.get("gas_used") or 0),
    )
    return result


def _validate_address(address: str) -> None:
    try:
        crypto.from_bech32(address)
    except ChainError as err:
        raise CLIError(err.log) from None


@bank_app.command("send")
def send(
    from_key: str = typer.Argument(..., help="Name of the sending key in the keyring."),
    to_address: str = typer.Argument(..., help="Recipient bech32 address (infera1...)."),
    amount: str = typer.Argument(..., help="Amount, e.g. 1000uinfera (a bare number is uinfera)."),
    home: Path = HomeOption,
    node: str = NodeOption,
    chain_id: str = typer.Option("", "--chain-id", help="Chain id (default: ask the node)."),
    fees: str = typer.Option("", "--fees", help="Fee, e.g. 5000uinfera (default: gas x 0.025)."),
    gas: int = typer.Option(DEFAULT_GAS, "--gas", help="Gas limit."),
    memo: str = typer.Option("", "--memo", help="Transaction memo."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until the tx is committed."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds to wait for inclusion."),
    output: str = OutputOption,
) -> None:
    """Send coins from a local key to an address; prints the tx hash, height, code and log."""
    if gas <= 0:
        raise CLIError("--gas must be positive")
    key = Keyring(home).get(from_key)
    _validate_address(to_address)
    coins = parse_coins(amount)
    fee = fees or default_fee(gas)
    parse_coins(fee)
    rpc = CometRPC(node)
    chain_id = chain_id or rpc.status()["node_info"]["network"]
    account = get_account(rpc, key.address)
    raw = sign_tx(
        key.wallet(),
        [send_msg(key.address, to_address, coins)],
        chain_id=chain_id,
        account=account,
        gas=gas,
        fee=fee,
        memo=memo,
    )
    result = broadcast_and_wait(rpc, raw, wait=wait, timeout=timeout)
    text = "\n".join(f"{k}: {v}" for k, v in result.items())
    emit(result, output, text)
    if result["code"] != 0:
        raise typer.Exit(1)
