"""A naive reference for the state root, written from the spec alone (no code from chain.store).

It rebuilds the whole tree from the key set every time: slow, obviously right, and independent of
the incremental algorithm it checks.
"""

from __future__ import annotations

from hashlib import sha256

ZERO = b"\x00" * 32


def _bit(key_hash: bytes, depth: int) -> int:
    return (key_hash[depth // 8] >> (7 - depth % 8)) & 1


def _subtree(depth: int, leaves: list[tuple[bytes, bytes]]) -> bytes:
    if not leaves:
        return ZERO
    if len(leaves) == 1:
        key_hash, value_hash = leaves[0]
        return sha256(b"\x00" + key_hash + value_hash).digest()
    left = [leaf for leaf in leaves if _bit(leaf[0], depth) == 0]
    right = [leaf for leaf in leaves if _bit(leaf[0], depth) == 1]
    return sha256(b"\x01" + _subtree(depth + 1, left) + _subtree(depth + 1, right)).digest()


def reference_root(state: dict[bytes, bytes]) -> bytes:
    """The root hash of ``state`` per the spec: leaf, internal and empty hashes, lone leaves hoisted."""
    leaves = [(sha256(k).digest(), sha256(v).digest()) for k, v in state.items()]
    return _subtree(0, leaves)


def apply(state: dict[bytes, bytes], changes: dict[bytes, bytes | None]) -> None:
    """Apply a change set (None = delete) to a dict model in place."""
    for key, value in changes.items():
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
