"""Infera's state store: an authenticated, versioned, crash-safe key-value store.

- ``cache``: the ``KVStore`` protocol, ``MemStore`` and ``CacheStore`` branches (pure Python).
- ``proof``: existence/absence proofs, their wire format and verification (pure Python).
- ``tree``: the binary sparse Merkle tree (hashing, node encoding, batch update).
- ``commit``: ``CommitStore``, the tree and a flat latest table on LevelDB, committed atomically.

``CommitStore`` is imported lazily so that clients importing ``chain.store.proof`` (or the
pure-Python stores) do not need plyvel. The full specification is in ``README.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chain.store.cache import (
    CacheStore,
    KVStore,
    MemStore,
    ReadOnlyError,
    StoreError,
    prefix_end,
)
from chain.store.proof import Proof, ProofError, decode_proof, encode_proof, verify_proof

if TYPE_CHECKING:
    from chain.store.commit import CommitStore, CorruptionError, StoreSnapshot, VersionError

__all__ = [
    "CacheStore",
    "CommitStore",
    "CorruptionError",
    "KVStore",
    "MemStore",
    "Proof",
    "ProofError",
    "ReadOnlyError",
    "StoreError",
    "StoreSnapshot",
    "VersionError",
    "decode_proof",
    "encode_proof",
    "prefix_end",
    "verify_proof",
]

_LAZY = {"CommitStore", "CorruptionError", "StoreSnapshot", "VersionError"}


def __getattr__(name: str) -> Any:
    """Load the plyvel-backed names on first use (PEP 562)."""
    if name in _LAZY:
        from chain.store import commit

        return getattr(commit, name)
    raise AttributeError(f"module 'chain.store' has no attribute {name!r}")
