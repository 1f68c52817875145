"""``infera query store KEY [--height H] [--prove]``: raw state, optionally checked by a light client.

KEY forms:
    balance:ADDRESS[:DENOM]   the bank balance key of an address (denom defaults to uinfera)
    account:ADDRESS           the auth account key of an address
    hex:0a0b...               raw bytes in hex
    anything else             the UTF-8 bytes of the text (e.g. auth/params)

With ``--prove`` the value (or its absence) is checked against the app hash of the header of
height H+1, whose commit must carry signatures of more than 2/3 of the validators' voting power
(``chain.light``); the command fails (exit 1) when any check fails.
"""

from __future__ import annotations

import os
from typing import Any

import chain.pb  # noqa: F401

import grpc
import typer

from chain import crypto
from chain.cli.common import DEFAULT_DENOM, CLIError, NodeOption, OutputOption, emit
from chain.cli.rpc import normalize_url
from chain.errors import ChainError
from chain.text import is_printable_ascii

DEFAULT_GRPC = os.environ.get("INFERA_GRPC", "127.0.0.1:9090")
GrpcOption = typer.Option(DEFAULT_GRPC, "--grpc", help="The node's gRPC address ($INFERA_GRPC).")


def parse_key(text: str) -> bytes:
    """A state key from its command-line form (see the module docstring)."""
    kind, _, rest = text.partition(":")
    try:
        if kind == "hex" and rest:
            return bytes.fromhex(rest)
        if kind == "balance" and rest:
            from modules.bank import keys as bank_keys

            address, _, denom = rest.partition(":")
            return bank_keys.balance_key(crypto.from_bech32(address), denom or DEFAULT_DENOM)
        if kind == "account" and rest:
            from modules.auth import keys as auth_keys

            return auth_keys.account_key(crypto.from_bech32(rest))
    except ValueError as exc:
        raise CLIError(f"invalid key {text!r}: {exc}") from None
    except ChainError as err:
        raise CLIError(f"invalid key {text!r}: {err.log}") from None
    if not text:
        raise CLIError("empty key")
    return text.encode()


def render_value(value: bytes | None) -> dict[str, Any]:
    if value is None:
        return {"exists": False, "value_hex": None, "value_text": None}
    try:
        decoded = value.decode()
    except UnicodeDecodeError:
        decoded = ""
    text = decoded if decoded and is_printable_ascii(decoded) else None
    return {"exists": True, "value_hex": value.hex(), "value_text": text}


def store(
    key: str = typer.Argument(..., help="State key: balance:ADDR[:DENOM], account:ADDR, hex:..."),
    height: int = typer.Option(0, "--height", help="Height to read (0 = latest)."),
    prove: bool = typer.Option(False, "--prove", help="Verify against a signed header."),
    chain_id: str = typer.Option("", "--chain-id", help="Expected chain id (default: ask)."),
    trusted_validators: str = typer.Option(
        "", "--trusted-validators-hash", help="Hex validator-set hash to trust (default: none)."
    ),
    grpc_address: str = GrpcOption,
    node: str = NodeOption,
    output: str = OutputOption,
) -> None:
    """Read one state key; with --prove, verify the value with a light client."""
    from chain.light import LightClient, VerificationError

    raw_key = parse_key(key)
    if height < 0:
        raise CLIError(f"--height must be >= 0, got {height}")
    try:
        trusted = bytes.fromhex(trusted_validators) if trusted_validators else None
    except ValueError:
        raise CLIError(f"--trusted-validators-hash is not hex: {trusted_validators!r}") from None
    client = LightClient(
        rpc_url=normalize_url(node),
        grpc_address=grpc_address,
        chain_id=chain_id or None,
        trusted_validators_hash=trusted,
    )
    try:
        data: dict[str, Any] = {"key_hex": raw_key.hex()}
        if prove:
            verified = client.get(raw_key, height)
            data.update(height=verified.height, **render_value(verified.value))
            data.update(
                verified=True,
                app_hash=verified.app_hash.hex().upper(),
                signed_header_height=verified.height + 1,
                block_hash=verified.block_hash.hex().upper(),
                signed_power=verified.signed_power,
                total_power=verified.total_power,
            )
        else:
            proven = client.fetch_proven(raw_key, height)
            data.update(height=proven.height, **render_value(proven.value), verified=False)
    except VerificationError as exc:
        raise CLIError(f"verification failed: {exc}") from None
    except grpc.RpcError as err:
        raise CLIError(f"query failed: {err.code().name}: {err.details()}") from None
    finally:
        client.close()
    lines = [f"{k}: {v}" for k, v in data.items()]
    emit(data, output, "\n".join(lines))


def register(query_app: typer.Typer) -> None:
    """Add ``store`` to ``infera query``."""
    query_app.command("store")(store)
