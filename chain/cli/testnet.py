"""``infera testnet``: create, run and stop a local N-validator network."""

from __future__ import annotations

from pathlib import Path

import typer

from chain.cli.common import CLIError, OutputOption, emit
from chain.testnet import add_full_node, create_testnet, run_testnet, stop_testnet

app = typer.Typer(
    help="Local multi-validator networks on 127.0.0.1.\n\n"
    "infera testnet --validators N --output DIR [--start]   create (and run) a network\n\n"
    "infera testnet start DIR                               run every node until Ctrl-C\n\n"
    "infera testnet stop DIR                                stop a running network\n\n"
    "infera testnet add-node DIR --name N [--state-sync]    a full node (then: infera start)",
    invoke_without_command=True,
)


@app.callback()
def create(
    ctx: typer.Context,
    validators: int = typer.Option(4, "--validators", "-v", help="Number of validators."),
    output: Path = typer.Option(None, "--output", "-o", help="Folder for the node homes."),
    chain_id: str = typer.Option("infera-testnet", "--chain-id", help="Chain id."),
    preset: str = typer.Option("minimal", "--preset", help="Genesis preset: minimal, standard."),
    base_port: int = typer.Option(
        26656,
        "--base-port",
        help="Node i listens on base+10i (p2p), +1 (RPC), +2 (ABCI), +3 (gRPC), "
        "+4 (CometBFT metrics).",
    ),
    dev_accounts: int = typer.Option(
        None, "--dev-accounts", help="Funded developer accounts (default: the preset's)."
    ),
    timeout_commit: str = typer.Option("300ms", "--timeout-commit", help="Pause after a block."),
    beacon: bool = typer.Option(
        False, "--beacon", help="Register every validator's BLS key: run the randomness beacon."
    ),
    start: bool = typer.Option(False, "--start", help="Run the network after creating it."),
    output_format: str = typer.Option("text", "--format", help="Summary format: text or json."),
) -> None:
    """Create the homes of an N-validator network (one shared genesis, peers wired)."""
    if ctx.invoked_subcommand is not None:
        return
    if output is None:
        raise CLIError("--output DIR is required to create a testnet")
    description = create_testnet(
        output,
        validators=validators,
        chain_id=chain_id,
        preset_name=preset,
        base_port=base_port,
        dev_accounts=dev_accounts,
        timeout_commit=timeout_commit,
        beacon=beacon,
    )
    lines = [f"created {validators}-validator testnet {chain_id!r} in {output}"]
    lines += [f"  {n['name']}: rpc {n['rpc']}  home {n['home']}" for n in description["nodes"]]
    lines.append(f"  developer accounts: {output / 'dev-accounts.json'}")
    lines.append(f"run it with: infera testnet start {output}")
    emit(description, output_format, "\n".join(lines))
    if start:
        raise typer.Exit(run_testnet(output))


@app.command("start")
def start_cmd(
    directory: Path = typer.Argument(..., help="The testnet folder (holds testnet.json)."),
    log_level: str = typer.Option("info", "--node-log-level", help="Log level of the nodes."),
) -> None:
    """Run every node (logs in DIR/nodeI/node.log) until Ctrl-C or SIGTERM, then stop them all."""
    raise typer.Exit(run_testnet(directory, log_level))


@app.command("stop")
def stop_cmd(
    directory: Path = typer.Argument(..., help="The testnet folder."),
    output: str = OutputOption,
) -> None:
    """Stop a network started with `infera testnet start`."""
    if not stop_testnet(directory):
        raise CLIError(f"no running testnet in {directory}")
    emit({"stopped": str(directory)}, output, f"stopped the testnet in {directory}")


@app.command("add-node")
def add_node_cmd(
    directory: Path = typer.Argument(..., help="The testnet folder."),
    name: str = typer.Option(..., "--name", help="The new node's folder name and moniker."),
    state_sync: bool = typer.Option(
        False,
        "--state-sync",
        help="Join by state sync: node0's and node1's RPC and a trusted height/hash from node0 "
        "(the network must be running and making snapshots: app.toml [state-sync]).",
    ),
    base_port: int = typer.Option(
        None, "--base-port", help="Its ports: base (p2p), +1 (RPC), +2 (ABCI), +3 (gRPC), +4."
    ),
    output: str = OutputOption,
) -> None:
    """Add a non-validator full node to a testnet (run it with `infera start --home DIR/NAME`)."""
    entry = add_full_node(directory, name=name, state_sync=state_sync, base_port=base_port)
    how = f"state sync from height {entry['trust_height']}" if state_sync else "replay from genesis"
    text = (
        f"added full node {name} in {entry['home']} (rpc {entry['rpc']}; joins by {how})\n"
        f"run it with: infera start --home {entry['home']}"
    )
    emit(entry, output, text)
