"""``infera tx beacon ...`` and ``infera query beacon ...``: the randomness beacon (modules/beacon).

    infera tx beacon register-key --from OPERATOR [--node-home NODE_HOME]
    infera query beacon value HEIGHT | params

``register-key`` registers the BLS key of the validator the ``--from`` account operates: the key
``infera start`` derives from NODE_HOME/config/priv_validator_key.json (``chain.nodeinit
.beacon_secret``; NODE_HOME defaults to --home), with its proof of possession. Once the
registration is committed, that node signs a beacon share at every later height (a key is never
replaced: register the key of the node that will run the validator).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chain.pb  # noqa: F401

import typer

from chain.cli.common import CLIError, HomeOption, NodeOption, OutputOption
from chain.cli.infera_tx import (
    FeesOption,
    FromOption,
    GasOption,
    MemoOption,
    TxFlags,
    WaitOption,
    send,
)
from chain.cli.modules import HeightOption, _run
from chain.cli.prove import GrpcOption
from infera.beacon.v1 import query_pb2, tx_pb2

tx_app = typer.Typer(help="Register this validator's BLS beacon key.", no_args_is_help=True)
query_app = typer.Typer(help="Beacon values and params.", no_args_is_help=True)


def register(tx: typer.Typer, query: typer.Typer) -> None:
    """Attach ``beacon`` to ``infera tx`` and ``infera query``."""
    tx.add_typer(tx_app, name="beacon")
    query.add_typer(query_app, name="beacon")


def node_secret(node_home: Path) -> int:
    """The BLS secret ``infera start`` derives from ``node_home``'s priv_validator_key.json."""
    from chain.nodeconfig import ConfigError
    from chain.nodeinit import beacon_secret

    try:
        return beacon_secret(node_home)
    except ConfigError as err:
        raise CLIError(f"--node-home: {err}") from None


def registration_msg(operator: str, secret: int) -> tx_pb2.MsgRegisterBlsKey:
    """MsgRegisterBlsKey for ``operator`` with the BLS key of ``secret`` and its proof of
    possession (~0.2 s of pairing-curve work)."""
    from modules.beacon import logic

    return tx_pb2.MsgRegisterBlsKey(
        operator=operator,
        bls_pubkey=logic.compute_pubkey(secret),
        proof_of_possession=logic.compute_proof_of_possession(secret),
    )


@tx_app.command("register-key")
def register_key(
    node_home: Path = typer.Option(
        None, "--node-home", help="Home of the validator's node (default: --home)."
    ),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Register the BLS key of the validator you operate (once; keys are never replaced).

    The key is derived from the node's priv_validator_key.json, as ``infera start`` derives it,
    so the node starts signing beacon shares at the first height after this tx is committed.
    The chain charges the proof-of-possession check (beacon param register_key_gas, 20M by
    default): give --gas or let the simulation find it.
    """
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    secret = node_secret(node_home or home)  # before any key or network use: fail fast

    def build(client: Any, wallet: Any, options: Any) -> Any:
        msg = registration_msg(str(wallet.address()), secret)
        return client.execute(wallet, [msg], **options)

    send(flags, build)


@query_app.command("value")
def value(
    height: int = typer.Argument(..., min=1),
    at: int = HeightOption,
    node: str = NodeOption,
    output: str = OutputOption,
) -> None:
    """beacon(HEIGHT) (empty when it has none, is not revealed yet, or was pruned) and its
    store key (prove it with ``infera query store KEY --prove``)."""
    _run(node, output, "/infera.beacon.v1.Query/Beacon", query_pb2.QueryBeaconRequest(height=height),
         query_pb2.QueryBeaconResponse, at)  # fmt: skip


@query_app.command("params")
def params(node: str = NodeOption, output: str = OutputOption) -> None:
    """The beacon module's params."""
    _run(node, output, "/infera.beacon.v1.Query/Params", query_pb2.QueryParamsRequest(),
         query_pb2.QueryParamsResponse)  # fmt: skip
