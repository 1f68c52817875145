"""CometBFT v0.38 data as the protobuf types, plus the hashes and sign bytes a light client needs.

CometBFT's JSON-RPC (``/block``, ``/commit``, ``/validators``) writes hashes and addresses as
upper-case hex, tx bytes, keys and signatures as base64, 64-bit integers as strings and times
as RFC 3339 with nanoseconds. The functions here turn that JSON into ``tendermint.types``
messages (what the Cosmos gRPC services return) and recompute, exactly as CometBFT does:

- ``header_hash``: the Merkle root of the header's 14 fields, each encoded as in
  ``types/block.go`` ``Header.Hash`` (wrapper types for scalars, the raw proto for the rest);
- ``validator_set_hash``: the Merkle root of ``SimpleValidator{pub_key, voting_power}`` bytes;
- ``vote_sign_bytes``: the length-prefixed ``CanonicalVote`` a validator signs
  (``types/canonical.go``, ``types/vote.go``).

The Merkle tree is RFC 6962's (``crypto/merkle``): leaf = sha256(0x00 || item), inner =
sha256(0x01 || left || right), split at the largest power of two below the item count.
Pure functions, integers only; nothing here does I/O.
"""

from __future__ import annotations

import base64
import calendar
import re
from hashlib import sha256
from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import timestamp_pb2, wrappers_pb2

from tendermint.crypto import keys_pb2
from tendermint.types import block_pb2, types_pb2, validator_pb2

PRECOMMIT_TYPE = 2  # tendermint.types.SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT
BLOCK_ID_FLAG_ABSENT = 1
BLOCK_ID_FLAG_COMMIT = 2
BLOCK_ID_FLAG_NIL = 3
ED25519_KEY_TYPE = "tendermint/PubKeyEd25519"
_TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)


class CometDataError(ValueError):
    """JSON from CometBFT that does not have the expected shape."""


# -- scalars -------------------------------------------------------------------------------------


def hex_bytes(text: str | None) -> bytes:
    """CometBFT's upper-case hex (``HexBytes``); empty or None is no bytes."""
    try:
        return bytes.fromhex(text or "")
    except ValueError:
        raise CometDataError(f"not hex: {text!r}") from None


def b64_bytes(text: str | None) -> bytes:
    try:
        return base64.b64decode(text or "", validate=True)
    except ValueError:
        raise CometDataError(f"not base64: {str(text)[:40]!r}") from None


def parse_time(text: str) -> timestamp_pb2.Timestamp:
    """RFC 3339 with up to nanoseconds (``2024-05-01T12:00:00.123456789Z``), exactly, no floats."""
    match = _TIME_RE.fullmatch(text or "")
    if match is None:
        raise CometDataError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    nanos = int((match.group(7) or "0").ljust(9, "0"))
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    zone = match.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


# -- JSON -> protobuf ----------------------------------------------------------------------------


def block_id_from_json(data: dict[str, Any]) -> types_pb2.BlockID:
    parts = data.get("parts") or data.get("part_set_header") or {}
    block_id = types_pb2.BlockID(hash=hex_bytes(data.get("hash")))
    block_id.part_set_header.total = int(parts.get("total") or 0)
    block_id.part_set_header.hash = hex_bytes(parts.get("hash"))
    block_id.part_set_header.SetInParent()  # non-nullable in Go: always encoded
    return block_id


def header_from_json(data: dict[str, Any]) -> types_pb2.Header:
    """A ``tendermint.types.Header`` from the JSON of ``/block``, ``/header`` or ``/commit``."""
    try:
        header = types_pb2.Header(
            chain_id=data["chain_id"],
            height=int(data["height"]),
            last_commit_hash=hex_bytes(data.get("last_commit_hash")),
            data_hash=hex_bytes(data.get("data_hash")),
            validators_hash=hex_bytes(data.get("validators_hash")),
            next_validators_hash=hex_bytes(data.get("next_validators_hash")),
            consensus_hash=hex_bytes(data.get("consensus_hash")),
            app_hash=hex_bytes(data.get("app_hash")),
            last_results_hash=hex_bytes(data.get("last_results_hash")),
            evidence_hash=hex_bytes(data.get("evidence_hash")),
            proposer_address=hex_bytes(data.get("proposer_address")),
        )
        version = data.get("version") or {}
        header.version.block = int(version.get("block") or 0)
        header.version.app = int(version.get("app") or 0)
        header.version.SetInParent()
        header.time.CopyFrom(parse_time(data["time"]))
        header.last_block_id.CopyFrom(block_id_from_json(data.get("last_block_id") or {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise CometDataError(f"malformed header: {exc}") from None
    return header


def commit_from_json(data: dict[str, Any]) -> types_pb2.Commit:
    """A ``tendermint.types.Commit`` (``/commit``'s ``signed_header.commit``, a block's last_commit)."""
    try:
        commit = types_pb2.Commit(height=int(data["height"]), round=int(data.get("round") or 0))
        commit.block_id.CopyFrom(block_id_from_json(data["block_id"]))
        for sig in data.get("signatures") or []:
            commit_sig = commit.signatures.add(
                block_id_flag=int(sig["block_id_flag"]),
                validator_address=hex_bytes(sig.get("validator_address")),
                signature=b64_bytes(sig.get("signature")),
            )
            commit_sig.timestamp.CopyFrom(parse_time(sig["timestamp"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CometDataError(f"malformed commit: {exc}") from None
    return commit


def block_from_json(data: dict[str, Any]) -> block_pb2.Block:
    """``/block``'s ``block`` as ``tendermint.types.Block`` (evidence is not converted)."""
    block = block_pb2.Block()
    block.header.CopyFrom(header_from_json(data["header"]))
    block.data.txs.extend(b64_bytes(tx) for tx in (data.get("data") or {}).get("txs") or [])
    block.evidence.SetInParent()
    last_commit = data.get("last_commit")
    if last_commit:
        block.last_commit.CopyFrom(commit_from_json(last_commit))
    return block


def validators_from_json(items: list[dict[str, Any]]) -> list[validator_pb2.Validator]:
    """``/validators``' list, in the set's order (by voting power, then address)."""
    out = []
    for item in items:
        key = item.get("pub_key") or {}
        if key.get("type") != ED25519_KEY_TYPE:
            raise CometDataError(f"unsupported validator key type {key.get('type')!r}")
        out.append(
            validator_pb2.Validator(
                address=hex_bytes(item.get("address")),
                pub_key=keys_pb2.PublicKey(ed25519=b64_bytes(key.get("value"))),
                voting_power=int(item["voting_power"]),
                proposer_priority=int(item.get("proposer_priority") or 0),
            )
        )
    return out


# -- hashing -------------------------------------------------------------------------------------


def merkle_root(items: list[bytes]) -> bytes:
    """CometBFT's ``merkle.HashFromByteSlices`` (RFC 6962)."""
    if not items:
        return sha256(b"").digest()
    if len(items) == 1:
        return sha256(b"\x00" + items[0]).digest()
    split = 1 << ((len(items) - 1).bit_length() - 1)  # largest power of two < len(items)
    return sha256(b"\x01" + merkle_root(items[:split]) + merkle_root(items[split:])).digest()


def _wrap_bytes(value: bytes) -> bytes:
    return wrappers_pb2.BytesValue(value=value).SerializeToString()


def header_hash(header: types_pb2.Header) -> bytes:
    """The block hash: ``Header.Hash()`` of CometBFT v0.38 (types/block.go)."""
    fields = [
        header.version.SerializeToString(),
        wrappers_pb2.StringValue(value=header.chain_id).SerializeToString(),
        wrappers_pb2.Int64Value(value=header.height).SerializeToString(),
        header.time.SerializeToString(),
        header.last_block_id.SerializeToString(),
        _wrap_bytes(header.last_commit_hash),
        _wrap_bytes(header.data_hash),
        _wrap_bytes(header.validators_hash),
        _wrap_bytes(header.next_validators_hash),
        _wrap_bytes(header.consensus_hash),
        _wrap_bytes(header.app_hash),
        _wrap_bytes(header.last_results_hash),
        _wrap_bytes(header.evidence_hash),
        _wrap_bytes(header.proposer_address),
    ]
    return merkle_root(fields)


def validator_set_hash(validators: list[validator_pb2.Validator]) -> bytes:
    """``ValidatorSet.Hash()``: the Merkle root of each ``SimpleValidator``'s bytes, in order."""
    return merkle_root(
        [
            validator_pb2.SimpleValidator(
                pub_key=v.pub_key, voting_power=v.voting_power
            ).SerializeToString()
            for v in validators
        ]
    )


def validator_address(ed25519_pubkey: bytes) -> bytes:
    """A validator's 20-byte CometBFT address: the first 20 bytes of sha256(public key)."""
    return sha256(ed25519_pubkey).digest()[:20]


# -- vote sign bytes -----------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 values are encoded as their two's complement
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _canonical_block_id(block_id: types_pb2.BlockID) -> bytes:
    """``CanonicalBlockID{hash = 1, part_set_header = 2 (always)}`` bytes."""
    parts = block_id.part_set_header
    part_bytes = (_varint(1 << 3) + _varint(parts.total) if parts.total else b"") + (
        _field_bytes(2, parts.hash) if parts.hash else b""
    )
    return (_field_bytes(1, block_id.hash) if block_id.hash else b"") + _field_bytes(2, part_bytes)


def vote_sign_bytes(
    *,
    chain_id: str,
    height: int,
    round_: int,
    block_id: types_pb2.BlockID | None,
    timestamp: timestamp_pb2.Timestamp,
    vote_type: int = PRECOMMIT_TYPE,
) -> bytes:
    """``VoteSignBytes``: the varint-length-prefixed ``CanonicalVote`` a validator signs.

    CanonicalVote fields: type = 1 (varint), height = 2 (sfixed64), round = 3 (sfixed64),
    block_id = 4 (omitted for a nil vote), timestamp = 5 (always), chain_id = 6. Zero scalars
    and an empty chain id are omitted, as gogoproto does.
    """
    body = _varint(1 << 3) + _varint(vote_type) if vote_type else b""
    if height:
        body += b"\x11" + (height & (1 << 64) - 1).to_bytes(8, "little")
    if round_:
        body += b"\x19" + (round_ & (1 << 64) - 1).to_bytes(8, "little")
    if block_id is not None and (block_id.hash or block_id.part_set_header.total):
        body += _field_bytes(4, _canonical_block_id(block_id))
    body += _field_bytes(5, timestamp.SerializeToString())
    if chain_id:
        body += _field_bytes(6, chain_id.encode())
    return _varint(len(body)) + body


def commit_vote_sign_bytes(chain_id: str, commit: types_pb2.Commit, index: int) -> bytes:
    """The sign bytes of signature ``index`` of ``commit`` (``Commit.VoteSignBytes``)."""
    sig = commit.signatures[index]
    block_id = commit.block_id if sig.block_id_flag == BLOCK_ID_FLAG_COMMIT else None
    return vote_sign_bytes(
        chain_id=chain_id,
        height=commit.height,
        round_=commit.round,
        block_id=block_id,
        timestamp=sig.timestamp,
    )
