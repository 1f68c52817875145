"""Merkle proofs of existence and absence against an app hash (pure Python, no plyvel).

A proof follows the path of ``sha256(key)`` from the root down to where it ends:
- existence: at the key's own leaf;
- absence, empty slot: at an empty child (or the root of the empty tree);
- absence, other leaf: at the leaf of another key whose hash shares the path so far (a lone
  leaf is hoisted to where its path diverges, so the queried key would have been below it).

``Proof.siblings`` lists the sibling hashes met on the way **top-down**: ``siblings[i]`` is the
hash of the child of the depth-i node that is *not* on the path (32 zero bytes = empty).

Verification recomputes the root bottom-up: start from the terminal hash (the key's leaf hash,
zero for an empty slot, or the other leaf's hash) and for i = depth-1 .. 0 hash it with
``siblings[i]`` on the side given by bit i of ``sha256(key)`` (bit 0 = most significant).

Wire format (version 1), all integers big-endian:
    0x01                         format version
    kind (u8)                    0 = no other leaf, 1 = absence ending at another key's leaf
    depth (u16)                  number of siblings, 0..256
    bitmap (ceil(depth/8) bytes) bit i (MSB-first) set = siblings[i] is not empty; padding zero
    non-empty siblings           32 bytes each, top-down
    [kind 1] key_hash (32) || value_hash (32) of the other leaf
Decoding accepts only this exact, canonical form (length, padding bits, no all-zero "non-empty"
sibling) and raises ``ProofError`` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256

FORMAT_VERSION = 1
HASH_LEN = 32
MAX_DEPTH = 256
_ZERO = b"\x00" * HASH_LEN


class ProofError(ValueError):
    """Bytes that are not a well-formed proof."""


@dataclass(frozen=True)
class Proof:
    """Sibling hashes top-down, plus the other key's leaf for an absence proof that ends at one.

    ``other_key_hash``/``other_value_hash`` are both None (existence, or absence at an empty
    slot) or both 32 bytes (absence: the path ends at the leaf of a different key).
    """

    siblings: tuple[bytes, ...]
    other_key_hash: bytes | None = None
    other_value_hash: bytes | None = None


def encode_proof(p: Proof) -> bytes:
    """The version-1 wire bytes of ``p`` (see the module docstring)."""
    depth = len(p.siblings)
    if depth > MAX_DEPTH or any(len(s) != HASH_LEN for s in p.siblings):
        raise ProofError("proof has more than 256 siblings or a sibling not 32 bytes long")
    map_len = (depth + 7) // 8
    bitmap = 0
    present: list[bytes] = []
    for i, sibling in enumerate(p.siblings):
        if sibling != _ZERO:
            bitmap |= 1 << (map_len * 8 - 1 - i)
            present.append(sibling)
    other = _other_leaf(p)
    head = bytes([FORMAT_VERSION, 0 if other is None else 1]) + depth.to_bytes(2, "big")
    tail = b"" if other is None else other[0] + other[1]
    return head + bitmap.to_bytes(map_len, "big") + b"".join(present) + tail


def decode_proof(b: bytes) -> Proof:
    """Parse version-1 proof bytes; ``ProofError`` on anything malformed or non-canonical."""
    if not isinstance(b, bytes | bytearray) or len(b) < 4:
        raise ProofError("a proof is at least 4 bytes")
    if b[0] != FORMAT_VERSION:
        raise ProofError(f"unknown proof format version {b[0]}")
    kind, depth = b[1], int.from_bytes(b[2:4], "big")
    if kind not in (0, 1):
        raise ProofError(f"unknown proof kind {kind}")
    if depth > MAX_DEPTH:
        raise ProofError(f"proof depth {depth} exceeds {MAX_DEPTH}")
    map_len = (depth + 7) // 8
    if len(b) < 4 + map_len:
        raise ProofError("proof bitmap truncated")
    bitmap = int.from_bytes(b[4 : 4 + map_len], "big")
    if bitmap & ((1 << (map_len * 8 - depth)) - 1):
        raise ProofError("proof bitmap padding bits set")
    count = bin(bitmap).count("1")
    expected = 4 + map_len + HASH_LEN * count + (2 * HASH_LEN if kind == 1 else 0)
    if len(b) != expected:
        raise ProofError(f"proof is {len(b)} bytes, expected {expected}")
    siblings: list[bytes] = []
    at = 4 + map_len
    for i in range(depth):
        if bitmap >> (map_len * 8 - 1 - i) & 1:
            sibling = bytes(b[at : at + HASH_LEN])
            if sibling == _ZERO:
                raise ProofError("non-canonical proof: empty sibling marked present")
            siblings.append(sibling)
            at += HASH_LEN
        else:
            siblings.append(_ZERO)
    if kind == 0:
        return Proof(tuple(siblings))
    return Proof(tuple(siblings), bytes(b[at : at + HASH_LEN]), bytes(b[at + HASH_LEN :]))


def verify_proof(root: bytes, key: bytes, value: bytes | None, proof: Proof) -> bool:
    """True when ``proof`` shows that ``key`` maps to ``value`` (None: is absent) under ``root``.

    Never raises on a hostile ``Proof`` object: anything ill-typed or ill-sized returns False.
    """
    try:
        return _verify(root, key, value, proof)
    except (TypeError, ValueError, AttributeError):
        return False


def _verify(root: bytes, key: bytes, value: bytes | None, proof: Proof) -> bool:
    siblings = proof.siblings
    if not isinstance(siblings, tuple | list) or len(siblings) > MAX_DEPTH:
        return False
    if not all(isinstance(s, bytes) and len(s) == HASH_LEN for s in siblings):
        return False
    if not isinstance(root, bytes) or len(root) != HASH_LEN:
        return False
    key_hash = sha256(key).digest()
    other = _other_leaf(proof)
    if value is not None:
        if other is not None:
            return False
        terminal = sha256(b"\x00" + key_hash + sha256(value).digest()).digest()
    elif other is None:
        terminal = _ZERO
    else:
        other_kh, other_vh = other
        if other_kh == key_hash or not _shares_prefix(other_kh, key_hash, len(siblings)):
            return False
        terminal = sha256(b"\x00" + other_kh + other_vh).digest()
    return compute_root(key_hash, terminal, siblings) == root


def compute_root(key_hash: bytes, terminal: bytes, siblings: Sequence[bytes]) -> bytes:
    """Fold ``terminal`` (the node hash at depth len(siblings) on key_hash's path) up to the root."""
    path = int.from_bytes(key_hash, "big")
    node = terminal
    for depth in range(len(siblings) - 1, -1, -1):
        if (path >> (255 - depth)) & 1:
            node = sha256(b"\x01" + siblings[depth] + node).digest()
        else:
            node = sha256(b"\x01" + node + siblings[depth]).digest()
    return node


def _other_leaf(p: Proof) -> tuple[bytes, bytes] | None:
    kh, vh = p.other_key_hash, p.other_value_hash
    if kh is None and vh is None:
        return None
    if not (isinstance(kh, bytes) and isinstance(vh, bytes)):
        raise ProofError("other leaf needs both a key hash and a value hash")
    if len(kh) != HASH_LEN or len(vh) != HASH_LEN:
        raise ProofError("other leaf hashes must be 32 bytes")
    return kh, vh


def _shares_prefix(a: bytes, b: bytes, bits: int) -> bool:
    """Whether the top ``bits`` bits of two 32-byte hashes are equal."""
    if bits == 0:
        return True
    shift = 256 - bits
    return int.from_bytes(a, "big") >> shift == int.from_bytes(b, "big") >> shift
