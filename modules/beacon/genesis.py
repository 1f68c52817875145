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


def init_genesis(ctx: Context, keeper: BeaconKeeper, data: dict[str, Any]) -> None:
    """Register every key; a malformed key or a failing proof of possession stops the chain
    from starting (a rogue key could otherwise cancel honest shares in the aggregate)."""
    params = default_params()
    if "params" in data:
        params = json_format.ParseDict(data["params"], types_pb2.Params())
    validate_params(params)
    keeper.set_params(ctx, params)
    for entry in data.get("keys", []):
        try:
            consensus = base64.b64decode(entry["consensus_pubkey"], validate=True)
            pubkey = base64.b64decode(entry["bls_pubkey"], validate=True)
            proof = base64.b64decode(entry["proof_of_possession"], validate=True)
        except (KeyError, TypeError, binascii.Error) as exc:
            raise ValueError(f"beacon genesis key entry {entry!r}: {exc}") from None
        if len(consensus) != crypto.ED25519_PUBKEY_LENGTH:
            raise ValueError("beacon genesis: consensus_pubkey is not an ed25519 key")
        if not logic.is_valid_registration(pubkey, proof):
            raise ValueError("beacon genesis: invalid BLS key or proof of possession")
        address = crypto.consensus_address(consensus)
        if keeper.get_key(ctx, address) is not None or keeper.get_key_owner(ctx, pubkey):
            raise ValueError("beacon genesis: a validator or a BLS key appears twice")
        keeper.set_key(ctx, address, pubkey)


def export_genesis(ctx: Context, keeper: BeaconKeeper) -> dict[str, Any]:
    # Proofs of possession are checked at registration and not kept; an export lists the keys.
    out = []
    for key, pubkey in ctx.store.iterate(keys.KEY, keys.KEY + b"\xff" * 21):
        out.append({"consensus_address": key[len(keys.KEY) :].hex(), "bls_pubkey": pubkey.hex()})
    params = json_format.MessageToDict(
        keeper.get_params(ctx),
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    return {"params": params, "keys": out}


def genesis_entry(consensus_pubkey: bytes, secret: int) -> dict[str, str]:
    """The genesis entry of a validator whose BLS secret is ``secret`` (used by genesis tools)."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return {
        "consensus_pubkey": b64(consensus_pubkey),
        "bls_pubkey": b64(logic.compute_pubkey(secret)),
        "proof_of_possession": b64(logic.compute_proof_of_possession(secret)),
    }
