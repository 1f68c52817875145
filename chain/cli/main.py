"""``infera``: the command line of an Infera node.

infera init --home DIR --chain-id ID --moniker M [--preset minimal|standard]
infera start --home DIR
infera status [--node tcp://127.0.0.1:26657]
infera keys add|list|show
infera tx bank send FROM_KEY TO_ADDR AMOUNT
infera query bank balance ADDR [--denom D]
infera testnet --validators N --output DIR [--start] | testnet start DIR | testnet stop DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from chain.cli import (
    beacon,
    ee,
    gateway,
    gov,
    infera_tx,
    keys,
    prove,
    query,
    rest,
    staking,
    tee,
    testnet,
    tx,
    verifier,
    worker,
    zk,
)
from chain.cli.common import DEFAULT_HOME, CLIError, HomeOption, NodeOption, OutputOption, emit
from chain.cli.rpc import CometRPC, RPCError
from chain.genesis import GenesisError
from chain.keyring import KeyringError
from chain.log import setup_logging
from chain.nodeconfig import ConfigError, Ports

app = typer.Typer(
    name="infera",
    help="Infera: a chain for decentralized, verifiable AI inference.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(keys.app, name="keys")
app.add_typer(tx.app, name="tx")
infera_tx.register(tx.app)  # infera tx inference|models|workers (chain/cli/infera_tx.py)
app.add_typer(query.app, name="query")
prove.register(query.app)  # infera query store KEY [--prove] (chain/cli/prove.py)
app.add_typer(testnet.app, name="testnet")
app.add_typer(worker.app, name="worker")  # infera worker run (chain/cli/worker.py)
verifier.register(app)  # infera verifier run (chain/cli/verifier.py)
gateway.register(app)  # infera gateway (chain/cli/gateway.py, docs/gateway.md)
rest.register(app)  # infera rest: REST (LCD) + explorer (chain/cli/rest.py, docs/rest.md)
zk.register(tx.app, query.app, worker.app)  # tx/query zk, worker zk-run (chain/cli/zk.py)
beacon.register(tx.app, query.app)  # tx/query beacon (chain/cli/beacon.py)
gov.register(tx.app, query.app)  # tx/query gov (chain/cli/gov.py, modules/gov/README.md)
tee.register(tx.app, query.app, app)  # tx/query tee, infera tee report-data (chain/cli/tee.py)
staking.register(tx.app, query.app)  # tx/query staking|distribution|slashing (chain/cli/staking.py)
ee.register(app)  # infera ee keygen|transform|encrypt|submit|decrypt (chain/cli/ee.py)

LogLevelOption = typer.Option(None, "--log-level", help="debug, info, warning, error.")
LogFormatOption = typer.Option(
    None, "--log-format", help="auto (JSON unless a TTY), json, console."
)
_log_settings = {"level": "info", "format": "auto"}


def _configure_logging(level: str | None, fmt: str | None) -> None:
    _log_settings["level"] = level or _log_settings["level"]
    _log_settings["format"] = fmt or _log_settings["format"]
    try:
        setup_logging(_log_settings["level"], _log_settings["format"])
    except ValueError as exc:
        raise CLIError(str(exc)) from None


@app.callback()
def root(log_level: str = LogLevelOption, log_format: str = LogFormatOption) -> None:
    """Infera node and client commands."""
    _configure_logging(log_level, log_format)


@app.command()
def init(
    home: Path = HomeOption,
    chain_id: str = typer.Option(..., "--chain-id", help="Chain id, e.g. infera-local-1."),
    moniker: str = typer.Option(..., "--moniker", help="This node's name."),
    preset: str = typer.Option("minimal", "--preset", help="Genesis preset: minimal, standard."),
    dev_accounts: int = typer.Option(
        None, "--dev-accounts", help="Funded developer accounts (default: the preset's)."
    ),
    timeout_commit: str = typer.Option("300ms", "--timeout-commit", help="Pause after a block."),
    p2p_port: int = typer.Option(26656, "--p2p-port"),
    rpc_port: int = typer.Option(26657, "--rpc-port"),
    abci_port: int = typer.Option(26658, "--abci-port"),
    grpc_port: int = typer.Option(9090, "--grpc-port"),
    prometheus_port: int = typer.Option(
        26660, "--prometheus-port", help="CometBFT's own Prometheus metrics (127.0.0.1)."
    ),
    beacon: bool = typer.Option(
        False, "--beacon", help="Register the validator's BLS key: run the randomness beacon."
    ),
    output: str = OutputOption,
) -> None:
    """Create a single-validator chain in HOME: CometBFT config and keys, genesis, keyring."""
    from chain.nodeinit import init_node

    ports = Ports(p2p=p2p_port, rpc=rpc_port, abci=abci_port, grpc=grpc_port,
                  prometheus=prometheus_port)  # fmt: skip
    summary = init_node(
        home,
        chain_id=chain_id,
        moniker=moniker,
        preset_name=preset,
        ports=ports,
        dev_accounts=dev_accounts,
        timeout_commit=timeout_commit,
        beacon=beacon,
    )
    text = (
        f"initialised {chain_id!r} in {home}\n  validator operator: {summary['operator']}\n"
        f"  developer accounts: {len(summary['dev_accounts'])} (mnemonics in "
        f"{home / 'dev-accounts.json'})\n  start it with: infera start --home {home}"
    )
    emit(summary, output, text)


@app.command()
def start(
    home: Path = HomeOption,
    log_level: str = LogLevelOption,
    log_format: str = LogFormatOption,
) -> None:
    """Run the node: the app (ABCI) and CometBFT, until Ctrl-C or SIGTERM."""
    from chain.node import run_node

    _configure_logging(log_level, log_format)
    raise typer.Exit(run_node(home))


@app.command()
def status(node: str = NodeOption, output: str = OutputOption) -> None:
    """Height, app hash, chain id, sync state and validators of a running node."""
    rpc = CometRPC(node)
    info = rpc.status()
    sync = info["sync_info"]
    validators = [
        {"address": v["address"], "voting_power": int(v["voting_power"])} for v in rpc.validators()
    ]
    data = {
        "chain_id": info["node_info"]["network"],
        "moniker": info["node_info"]["moniker"],
        "node_id": info["node_info"]["id"],
        "height": int(sync["latest_block_height"]),
        "app_hash": sync["latest_app_hash"],
        "block_time": sync["latest_block_time"],
        "catching_up": bool(sync["catching_up"]),
        "validators": validators,
    }
    lines = [f"{k}: {data[k]}" for k in list(data)[:-1]]
    lines.append("validators:")
    lines += [f"  {v['address']} power {v['voting_power']}" for v in validators]
    emit(data, output, "\n".join(lines))


USER_ERRORS = (CLIError, KeyringError, ConfigError, GenesisError, RPCError)


def main() -> None:
    """Entry point: run the CLI; user errors print one line and exit 1."""
    try:
        app(prog_name="infera")
    except USER_ERRORS as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["DEFAULT_HOME", "app", "main"]

if __name__ == "__main__":
    main()
