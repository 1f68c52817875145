"""beacon genesis: the validators' BLS public keys, each with its proof of possession."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain import crypto
from chain.context import Context
from infera.beacon.v1 import types_pb2
from modules.beacon import keys, logic
from modules.beacon.keeper import BeaconKeeper
from modules.beacon.params import default_params, validate_params

ADDRESS_LENGTH = 20  # a consensus address


def init_genesis(ctx: Context, keeper: BeaconKeeper, data: dict[str, Any]) -> None:
    """Register every key; a malformed key or a failing proof of possession stops the chain
    from starting (a rogue key could otherwise cancel honest shares in the aggregate).

    An entry names its validator by ``consensus_pubkey`` (ed25519, as ``infera init`` writes
    it) or by ``consensus_address`` (20 bytes, as ``export_genesis`` writes it), both base64.
    ``active`` (an export of a chain that produced beacons) keeps the seeds waiting for a
    beacon from the first block, never falling back to block hashes."""
    params = default_params()
    if "params" in data:
        params = json_format.ParseDict(data["params"], types_pb2.Params())
    validate_params(params)
    keeper.set_params(ctx, params)
    for entry in data.get("keys", []):
        address, pubkey, proof = _parse_entry(entry)
        if not logic.is_valid_registration(pubkey, proof):
            raise ValueError("beacon genesis: invalid BLS key or proof of possession")
        if keeper.get_key(ctx, address) is not None or keeper.get_key_owner(ctx, pubkey):
            raise ValueError("beacon genesis: a validator or a BLS key appears twice")
        keeper.set_key(ctx, address, pubkey, proof)
    active = data.get("active", False)
    if not isinstance(active, bool):
        raise ValueError(f"beacon genesis: active must be true or false, got {active!r}")
    if active:
        keeper.set_active(ctx)


def _parse_entry(entry: Any) -> tuple[bytes, bytes, bytes]:
    """(consensus address, BLS key, proof of possession) of one genesis key entry."""
    if not isinstance(entry, dict) or ("consensus_pubkey" in entry) == (
        "consensus_address" in entry
    ):
        raise ValueError(
            f"beacon genesis key entry {entry!r}: give consensus_pubkey or consensus_address"
        )
    try:
        pubkey = base64.b64decode(entry["bls_pubkey"], validate=True)
        proof = base64.b64decode(entry["proof_of_possession"], validate=True)
        if "consensus_pubkey" in entry:
            consensus = base64.b64decode(entry["consensus_pubkey"], validate=True)
            if len(consensus) != crypto.ED25519_PUBKEY_LENGTH:
                raise ValueError("beacon genesis: consensus_pubkey is not an ed25519 key")
            return crypto.consensus_address(consensus), pubkey, proof
        address = base64.b64decode(entry["consensus_address"], validate=True)
    except (KeyError, TypeError, binascii.Error) as exc:
        raise ValueError(f"beacon genesis key entry {entry!r}: {exc}") from None
    if len(address) != ADDRESS_LENGTH:
        raise ValueError("beacon genesis: consensus_address is not 20 bytes")
    return address, pubkey, proof


def export_genesis(ctx: Context, keeper: BeaconKeeper) -> dict[str, Any]:
    """Params, every registered key with its proof of possession (in consensus-address order),
    and whether the chain ever produced a beacon. Beacon values are not exported: a chain
    started from the export makes its own, and a job submitted before waits for the first."""
    out = []
    end = keys.KEY + b"\xff" * (ADDRESS_LENGTH + 1)
    for key, pubkey in ctx.store.iterate(keys.KEY, end):
        address = key[len(keys.KEY) :]
        proof = keeper.get_proof(ctx, address)
        if proof is None:
            raise RuntimeError(f"beacon key of {address.hex()} has no stored proof")
        out.append({"consensus_address": _b64(address), "bls_pubkey": _b64(pubkey),
                    "proof_of_possession": _b64(proof)})  # fmt: skip
    params = json_format.MessageToDict(
        keeper.get_params(ctx),
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    return {"params": params, "keys": out, "active": keeper.is_active(ctx)}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def genesis_entry(consensus_pubkey: bytes, secret: int) -> dict[str, str]:
    """The genesis entry of a validator whose BLS secret is ``secret`` (used by genesis tools)."""

    return {
        "consensus_pubkey": _b64(consensus_pubkey),
        "bls_pubkey": _b64(logic.compute_pubkey(secret)),
        "proof_of_possession": _b64(logic.compute_proof_of_possession(secret)),
    }
