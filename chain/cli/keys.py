"""``infera keys``: create, recover, list and show account keys (test keyring backend)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from chain.cli.common import CLIError, HomeOption, OutputOption, emit
from chain.keyring import Keyring

app = typer.Typer(
    help="Manage account keys in HOME/keyring (test backend: unencrypted, file mode 0600).",
    no_args_is_help=True,
)


def _read_mnemonic() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("Enter your bip39 mnemonic", hide_input=True))
    line = sys.stdin.readline()
    if not line.strip():
        raise CLIError("no mnemonic on standard input")
    return line.strip()


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Key name (letters, digits, '_', '.', '-')."),
    recover: bool = typer.Option(False, "--recover", help="Recover from a mnemonic (stdin)."),
    home: Path = HomeOption,
    output: str = OutputOption,
) -> None:
    """Create a key with a new 24-word mnemonic, or recover one with --recover."""
    mnemonic = _read_mnemonic() if recover else None
    info = Keyring(home).add(name, mnemonic)
    data = info.public_view()
    if not recover:
        data["mnemonic"] = info.mnemonic
    text = f"- name: {info.name}\n  address: {info.address}\n  pubkey: {data['pubkey']}"
    if not recover:
        text += (
            "\n\n**Write this mnemonic phrase down and keep it safe.**\n"
            "It is the only way to recover your account.\n\n" + info.mnemonic
        )
    emit(data, output, text)


@app.command("list")
def list_keys(home: Path = HomeOption, output: str = OutputOption) -> None:
    """List every key (name, address, public key)."""
    keys = [k.public_view() for k in Keyring(home).list()]
    text = "\n".join(f"{k['name']:<20} {k['address']}" for k in keys) or "(no keys)"
    emit(keys, output, text)


@app.command("show")
def show(
    name: str = typer.Argument(..., help="Key name."),
    address: bool = typer.Option(False, "--address", "-a", help="Print only the address."),
    home: Path = HomeOption,
    output: str = OutputOption,
) -> None:
    """Show one key (never its mnemonic)."""
    info = Keyring(home).get(name)
    if address:
        typer.echo(info.address)
        return
    data = info.public_view()
    emit(
        data, output, f"- name: {info.name}\n  address: {info.address}\n  pubkey: {data['pubkey']}"
    )
