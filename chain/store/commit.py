"""The persistent, authenticated, versioned store: a sparse Merkle tree and a flat table on LevelDB.

One LevelDB (plyvel) database holds, under one-byte prefixes (byte layout in README.md):
    f  flat table          f || key                          -> value (the latest state)
    n  tree nodes          n || version || depth || path     -> node encoding (tree.py)
    r  root pointers       r || version                      -> root descriptor (41 bytes)
    s  stale-node index    s || stale_since || node key      -> b""
    m  store metadata      m || name                         -> height, app hash, oldest, format
    x  app metadata        x || key                          -> value (unauthenticated)

``stage`` computes a version's tree in memory; ``commit`` writes everything of that version
(nodes, stale index, flat-table changes, root pointer, metadata, pruning deletes) in ONE
``WriteBatch`` written with ``sync=True``. LevelDB applies a batch atomically (one log record with
a checksum; a torn record is dropped at recovery), so a crash at any instant leaves exactly the
last committed version, with the flat table and the tree in agreement.

Thread safety: one lock serializes staging, committing and tree reads (queries may run on other
threads). ``latest()`` reads the flat table directly; each read or iteration sees a consistent
committed state (LevelDB applies a batch atomically; an iterator reads from an implicit snapshot).
``snapshot()`` pins one committed version for a whole query: every read through it sees that
version, whatever commits meanwhile (taken under the lock, so its height matches its contents).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from hashlib import sha256

import plyvel

from chain.store.cache import KVStore, ReadOnlyError, StoreError
from chain.store.proof import Proof
from chain.store.tree import (
    EMPTY_DESC,
    ZERO_HASH,
    Desc,
    Node,
    NodeCache,
    TreeUpdate,
    decode_desc,
    decode_node,
    encode_desc,
    walk,
)

FLAT, NODE, ROOT, STALE, META, EXTRA = b"f", b"n", b"r", b"s", b"m", b"x"
META_FORMAT = META + b"format"  # -> b"\x01"
META_HEIGHT = META + b"height"  # -> u64 BE, last committed version
META_APP_HASH = META + b"app_hash"  # -> 32 bytes, root hash of the last committed version
META_OLDEST = META + b"oldest"  # -> u64 BE, oldest retained version
FORMAT = b"\x01"
PRUNE_MIN_BATCH = 10_000  # pruning deletes at least this many entries per commit when due
LEVELDB_BLOCK_CACHE = 64 << 20  # bytes of uncompressed table blocks LevelDB keeps in memory
LEVELDB_WRITE_BUFFER = 32 << 20  # bytes of writes buffered before a table file is written

_U64 = struct.Struct(">Q")


class VersionError(StoreError, LookupError):
    """A version that was pruned, never committed, or is in the future."""


class CorruptionError(StoreError):
    """The database does not hold what this store wrote (missing node, bad metadata)."""


@dataclass(frozen=True)
class StoreStats:
    """Diagnostics (node-local, not consensus)."""

    cached_nodes: int  # tree nodes in the node cache
    cache_misses: int  # tree node reads that went to LevelDB since the store was opened
    staged_nodes: int  # tree nodes the staged version will write (0 when nothing is staged)
    staged_stale: int  # nodes of the last version the staged version makes stale


@dataclass
class _Staged:
    version: int
    root: Desc
    update: TreeUpdate
    changes: dict[bytes, bytes | None]


def flat_range(
    source: plyvel.DB | plyvel.Snapshot, start: bytes, end: bytes | None, reverse: bool
) -> Iterator[tuple[bytes, bytes]]:
    """Flat-table pairs with ``start <= key < end`` (keys without the prefix), in key order.

    Descending ranges walk a raw iterator back from ``end``: plyvel 1.5's
    ``iterator(reverse=True, start=..., stop=...)`` yields nothing for a range holding exactly
    one key (measured: keys a, b, c; ``[b, c)`` reversed came back empty).
    """
    stop = FLAT + end if end is not None else bytes([FLAT[0] + 1])
    if not reverse:
        return ((key[1:], value) for key, value in source.iterator(start=FLAT + start, stop=stop))
    return _descending(source.raw_iterator(), FLAT + start, stop)


def _descending(
    raw: plyvel.RawIterator, start: bytes, stop: bytes
) -> Iterator[tuple[bytes, bytes]]:
    raw.seek(stop)  # the first key >= stop, or invalid past the last key
    if raw.valid():
        raw.prev()
    else:
        raw.seek_to_last()
    while raw.valid() and raw.key() >= start:
        yield raw.key()[1:], raw.value()
        raw.prev()


class LatestView(KVStore):
    """Read-only ``KVStore`` over the flat table: the last committed state (live)."""

    def __init__(self, db: plyvel.DB) -> None:
        self._db = db

    def get(self, key: bytes) -> bytes | None:
        """The latest committed value of ``key``, or None."""
        return self._db.get(FLAT + key)  # type: ignore[no-any-return]

    def set(self, key: bytes, value: bytes) -> None:
        """Always raises: committed state changes only through ``CommitStore.commit``."""
        raise ReadOnlyError("the committed state is read-only; write through a CacheStore")

    def delete(self, key: bytes) -> None:
        """Always raises, like ``set``."""
        raise ReadOnlyError("the committed state is read-only; write through a CacheStore")

    def iterate(
        self, start: bytes, end: bytes | None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Pairs with ``start <= key < end`` in bytewise order, from one consistent snapshot."""
        return flat_range(self._db, start, end, reverse)


class StoreSnapshot(KVStore):
    """Read-only ``KVStore`` over the flat table as of one committed version (a LevelDB snapshot).

    Queries and Simulate read through one of these, on threads of their own: a commit that
    lands while they run changes nothing they see. ``release()`` (or ``with``) frees it.
    """

    def __init__(self, snapshot: plyvel.Snapshot, height: int, app_hash: bytes) -> None:
        self._snapshot = snapshot
        self.height = height  # the committed version these reads see
        self.app_hash = app_hash  # its root hash

    def get(self, key: bytes) -> bytes | None:
        """The value of ``key`` at this version, or None."""
        return self._snapshot.get(FLAT + key)  # type: ignore[no-any-return]

    def get_meta(self, key: bytes) -> bytes | None:
        """App metadata (``commit(extra_meta=...)``) as of this version, or None."""
        return self._snapshot.get(EXTRA + key)  # type: ignore[no-any-return]

    def set(self, key: bytes, value: bytes) -> None:
        """Always raises: a snapshot is read-only."""
        raise ReadOnlyError("a committed snapshot is read-only; write through a CacheStore")

    def delete(self, key: bytes) -> None:
        """Always raises, like ``set``."""
        raise ReadOnlyError("a committed snapshot is read-only; write through a CacheStore")

    def iterate(
        self, start: bytes, end: bytes | None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Pairs with ``start <= key < end`` in bytewise order, at this version."""
        return flat_range(self._snapshot, start, end, reverse)

    def release(self) -> None:
        """Free the LevelDB snapshot (reads after this fail)."""
        self._snapshot.release()

    def __enter__(self) -> StoreSnapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class CommitStore:
    """The chain state: versioned Merkle tree + flat latest table, committed atomically."""

    def __init__(self, path: str, *, keep_recent: int = 0, node_cache_size: int = 200_000) -> None:
        """Open (or create) the database at ``path``.

        ``keep_recent``: how many recent versions stay readable and provable (0 = all).
        ``node_cache_size``: how many tree nodes the node cache holds (~200 bytes each).
        """
        if keep_recent < 0:
            raise ValueError("keep_recent must be >= 0")
        self.keep_recent = keep_recent
        self._db = plyvel.DB(
            path,
            create_if_missing=True,
            bloom_filter_bits=10,  # a node read touches ~1 table file instead of one per level
            lru_cache_size=LEVELDB_BLOCK_CACHE,
            write_buffer_size=LEVELDB_WRITE_BUFFER,
        )
        self._flat = self._db.prefixed_db(FLAT)
        self._cache = NodeCache(node_cache_size)
        self._lock = threading.RLock()
        self._staged: _Staged | None = None
        self._height, self._app_hash, self._oldest, self._root = 0, ZERO_HASH, 0, EMPTY_DESC
        self._load_meta()

    def _load_meta(self) -> None:
        raw_height = self._db.get(META_HEIGHT)
        if raw_height is None:
            return  # a new database: version 0, the empty tree
        if self._db.get(META_FORMAT) != FORMAT:
            raise CorruptionError("unknown store format")
        self._height = _U64.unpack(raw_height)[0]
        self._app_hash = self._db.get(META_APP_HASH)
        self._oldest = _U64.unpack(self._db.get(META_OLDEST))[0]
        raw_root = self._db.get(ROOT + _U64.pack(self._height))
        if raw_root is None or decode_desc(raw_root)[2] != self._app_hash:
            raise CorruptionError(f"root pointer of version {self._height} missing or wrong")
        self._root = decode_desc(raw_root)

    # -- reads ---------------------------------------------------------------------------------

    @property
    def last_height(self) -> int:
        """The last committed version (0 for a new database)."""
        return self._height

    @property
    def last_app_hash(self) -> bytes:
        """The root hash of the last committed version (32 zero bytes for a new database)."""
        return self._app_hash

    def latest(self) -> LatestView:
        """A read-only view of the last committed state (always the latest; set/delete raise)."""
        return LatestView(self._db)

    def snapshot(self) -> StoreSnapshot:
        """The last committed state, pinned: later commits do not change what it reads."""
        with self._lock:
            return StoreSnapshot(self._db.snapshot(), self._height, self._app_hash)

    def get_meta(self, key: bytes) -> bytes | None:
        """App metadata saved by ``commit(extra_meta=...)``, or None."""
        return self._db.get(EXTRA + key)  # type: ignore[no-any-return]

    def retained_versions(self) -> tuple[int, int]:
        """(oldest, newest) retained version; (0, 0) for a new database."""
        with self._lock:
            return self._oldest, self._height

    def root_at(self, version: int) -> bytes:
        """The root hash (app hash) of a retained version."""
        with self._lock:
            return self._root_desc(version)[2]

    def get_at(self, key: bytes, version: int) -> bytes | None:
        """The value of ``key`` at a retained version; ``VersionError`` if not retained."""
        with self._lock:
            if version == self._height:
                return self._flat.get(key)  # type: ignore[no-any-return]
            key_hash = sha256(key).digest()
            _, leaf = walk(self._reader(version), self._root_desc(version), key_hash)
            return leaf[4] if leaf is not None and leaf[1] == key_hash else None

    def prove(self, key: bytes, version: int) -> tuple[bytes | None, Proof]:
        """The value of ``key`` at ``version`` (None if absent) and a proof against its root."""
        with self._lock:
            key_hash = sha256(key).digest()
            siblings, leaf = walk(self._reader(version), self._root_desc(version), key_hash)
            if leaf is None:
                return None, Proof(tuple(siblings))
            if leaf[1] == key_hash:
                return leaf[4], Proof(tuple(siblings))
            return None, Proof(tuple(siblings), leaf[1], leaf[2])

    def stats(self) -> StoreStats:
        """Cache and staging figures, for benchmarks and monitoring."""
        with self._lock:
            staged = self._staged
            return StoreStats(
                cached_nodes=len(self._cache),
                cache_misses=self._cache.misses,
                staged_nodes=len(staged.update.new_nodes) if staged else 0,
                staged_stale=len(staged.update.stale) if staged else 0,
            )

    def _root_desc(self, version: int) -> Desc:
        if version == self._height:
            return self._root
        if version > self._height:
            raise VersionError(f"version {version} is not committed; latest is {self._height}")
        if version < self._oldest:
            raise VersionError(f"version {version} is pruned; oldest retained is {self._oldest}")
        raw = self._db.get(ROOT + _U64.pack(version))
        if raw is None:
            raise VersionError(f"version {version} was never committed")
        return decode_desc(raw)

    def _reader(self, version: int) -> Callable[[bytes], Node]:
        """Reads for the latest tree fill the cache; reads of older trees only use it."""
        return self._read if version == self._height else self._read_uncached

    def _read(self, key: bytes) -> Node:
        raw = self._cache.get(key)
        if raw is None:
            raw = self._load(key)
            self._cache.put(key, raw)
        return decode_node(raw)

    def _read_uncached(self, key: bytes) -> Node:
        raw = self._cache.get(key)
        return decode_node(self._load(key) if raw is None else raw)

    def _load(self, key: bytes) -> bytes:
        raw: bytes | None = self._db.get(NODE + key)
        if raw is None:
            raise CorruptionError(f"tree node {key.hex()} is missing")
        return raw

    # -- writes --------------------------------------------------------------------------------

    def stage(self, version: int, changes: Mapping[bytes, bytes | None]) -> bytes:
        """Compute (in memory) the tree of ``version`` = last committed tree + ``changes``.

        Returns the new app hash. Nothing is written; a later ``stage`` replaces this one.
        ``changes`` maps key -> new value, None = delete (deleting an absent key is a no-op).
        """
        with self._lock:
            if version <= self._height:
                raise ValueError(f"version {version} must be above the last height {self._height}")
            frozen = dict(changes)
            update = TreeUpdate(self._read, version)
            root = update.apply(self._root, frozen)
            self._staged = _Staged(version, root, update, frozen)
            return root[2]

    def commit(self, extra_meta: dict[bytes, bytes] | None = None) -> bytes:
        """Persist the staged version in one synced write batch, then prune; returns its hash."""
        with self._lock:
            staged = self._staged
            if staged is None:
                raise StoreError("commit without a staged version")
            batch = self._db.write_batch(sync=True)
            self._add_version(batch, staged, extra_meta or {})
            oldest = self._oldest if self._height > 0 else staged.version
            pruned: list[bytes] = []
            if self.keep_recent > 0:
                budget = max(PRUNE_MIN_BATCH, 2 * len(staged.update.stale))
                oldest = self._advance_oldest(staged.version, oldest)
                pruned = self._prune(batch, oldest, budget)
            batch.put(META_OLDEST, _U64.pack(oldest))
            batch.write()
            # The batch is durable: only now does the in-memory view move on.
            self._height, self._app_hash = staged.version, staged.root[2]
            self._root, self._oldest, self._staged = staged.root, oldest, None
            for nkey in staged.update.stale + pruned:
                self._cache.discard(nkey)  # stale nodes serve only historical reads now
            for nkey, encoded in staged.update.new_nodes.items():
                self._cache.put(nkey, encoded)
            return self._app_hash

    @staticmethod
    def _add_version(
        batch: plyvel.WriteBatch, staged: _Staged, extra_meta: dict[bytes, bytes]
    ) -> None:
        """Add to ``batch`` every write of the staged version except pruning and ``oldest``."""
        version_key = _U64.pack(staged.version)
        for nkey, encoded in staged.update.new_nodes.items():
            batch.put(NODE + nkey, encoded)
        for nkey in staged.update.stale:
            batch.put(STALE + version_key + nkey, b"")
        for key in sorted(staged.changes):
            value = staged.changes[key]
            if value is None:
                batch.delete(FLAT + key)
            else:
                batch.put(FLAT + key, value)
        batch.put(ROOT + version_key, encode_desc(staged.root))
        for key in sorted(extra_meta):
            batch.put(EXTRA + key, extra_meta[key])
        batch.put(META_FORMAT, FORMAT)
        batch.put(META_HEIGHT, version_key)
        batch.put(META_APP_HASH, staged.root[2])

    def _advance_oldest(self, version: int, oldest: int) -> int:
        """The oldest version to keep once ``version`` is committed: the first committed one
        at or after ``version - keep_recent + 1`` (versions need not be consecutive)."""
        target = version - self.keep_recent + 1
        if target <= oldest:
            return oldest
        start, stop = ROOT + _U64.pack(target), ROOT + _U64.pack(version)
        for key in self._db.iterator(start=start, stop=stop, include_value=False):
            return int(_U64.unpack(key[1:])[0])
        return version

    def _prune(self, batch: plyvel.WriteBatch, oldest: int, budget: int) -> list[bytes]:
        """Add to ``batch`` the deletion of root pointers of versions below ``oldest`` and of
        nodes stale since a version <= ``oldest`` (no retained version uses them), at most
        ``budget`` entries; the rest waits for the next commit. Returns the pruned node keys."""
        roots = self._db.iterator(start=ROOT, stop=ROOT + _U64.pack(oldest), include_value=False)
        for key in roots:
            batch.delete(key)
            budget -= 1
            if budget <= 0:
                return []
        pruned: list[bytes] = []
        stop = STALE + _U64.pack(oldest + 1)
        for key in self._db.iterator(start=STALE, stop=stop, include_value=False):
            nkey = key[9:]
            batch.delete(NODE + nkey)
            batch.delete(key)
            pruned.append(nkey)
            if len(pruned) >= budget:
                break
        return pruned

    def close(self) -> None:
        """Close the database (staged, uncommitted work is dropped)."""
        with self._lock:
            self._staged = None
            if not self._db.closed:
                self._db.close()

    def __enter__(self) -> CommitStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
