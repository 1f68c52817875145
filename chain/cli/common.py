"""Helpers shared by the CLI commands: errors, the home folder, output and coin parsing."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import typer

DEFAULT_HOME = Path(os.environ.get("INFERA_HOME", "~/.infera")).expanduser()
DEFAULT_NODE = os.environ.get("INFERA_NODE", "tcp://127.0.0.1:26657")
DEFAULT_DENOM = "uinfera"
COIN_RE = re.compile(r"([0-9]+)([a-zA-Z][a-zA-Z0-9/:._-]{2,127})?")  # fullmatch, ASCII only

HomeOption = typer.Option(DEFAULT_HOME, "--home", help="Node home folder ($INFERA_HOME).")
NodeOption = typer.Option(DEFAULT_NODE, "--node", help="CometBFT RPC address ($INFERA_NODE).")
OutputOption = typer.Option("text", "--output", "-o", help="Output format: text or json.")


class CLIError(Exception):
    """A user-facing failure: printed as ``error: <message>`` with exit code 1."""


def parse_coins(text: str) -> list[tuple[int, str]]:
    """``"1000uinfera,5foo"`` -> [(1000, "uinfera"), (5, "foo")]; a bare number is uinfera."""
    coins: list[tuple[int, str]] = []
    for part in (p.strip() for p in text.split(",")):
        match = COIN_RE.fullmatch(part)
        if not match or int(match.group(1)) <= 0:
            raise CLIError(f"invalid amount {part!r}: expected a positive amount like 1000uinfera")
        coins.append((int(match.group(1)), match.group(2) or DEFAULT_DENOM))
    if len({d for _, d in coins}) != len(coins):
        raise CLIError(f"invalid amount {text!r}: a denom appears twice")
    return coins


def emit(data: Any, output: str, text: str | None = None) -> None:
    """Print ``data`` as JSON (``--output json``) or ``text`` (default: indented JSON)."""
    if output not in ("text", "json"):
        raise CLIError(f"unknown output format {output!r}: use text or json")
    if output == "json" or text is None:
        typer.echo(json.dumps(data, indent=None if output == "json" else 2))
    else:
        typer.echo(text)
