"""Key-value store interfaces: the ``KVStore`` protocol, an in-memory store and cache branches.

Pure Python (no plyvel): clients, genesis tools and tests import it without a database.

Every iteration is over keys in ``[start, end)`` in bytewise order (``end=None`` is unbounded),
ascending or, with ``reverse=True``, descending. Nothing here depends on dict or set order.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Container, Iterator
from typing import Protocol, runtime_checkable


class StoreError(Exception):
    """Base class of every error raised by ``chain.store``."""


class ReadOnlyError(StoreError):
    """A write was attempted on a read-only view."""


@runtime_checkable
class KVStore(Protocol):
    """What state access needs: point reads and writes plus ordered range iteration."""

    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or None."""
        ...

    def set(self, key: bytes, value: bytes) -> None:
        """Store ``value`` under ``key`` (an empty value is a value, not a delete)."""
        ...

    def delete(self, key: bytes) -> None:
        """Remove ``key``; deleting an absent key is a no-op."""
        ...

    def iterate(
        self, start: bytes, end: bytes | None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Pairs with ``start <= key < end`` (``end=None``: no upper bound), sorted bytewise."""
        ...


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key that starts with ``prefix``.

    None when no such key exists (the prefix is empty or all 0xff bytes): iterate unbounded.
    """
    stem = prefix.rstrip(b"\xff")
    if not stem:
        return None
    return stem[:-1] + bytes([stem[-1] + 1])


class SortedKeys:
    """The keys of a dict in bytewise order, kept up to date lazily.

    Inserting records the key in a pending list (O(1)); the next range query merges the pending
    keys in (Timsort merges two sorted runs in linear time) and drops keys no longer in the dict.
    """

    def __init__(self) -> None:
        self._sorted: list[bytes] = []
        self._pending: list[bytes] = []

    def add(self, key: bytes) -> None:
        """Record a key just inserted into the dict."""
        self._pending.append(key)

    def clear(self) -> None:
        """Forget every key."""
        self._sorted, self._pending = [], []

    def range(self, data: Container[bytes], start: bytes, end: bytes | None) -> list[bytes]:
        """The keys of ``data`` in ``[start, end)``, ascending (a copy: safe to mutate during use)."""
        if self._pending:
            merged = self._sorted + sorted(set(self._pending))
            merged.sort()
            self._sorted = [
                k for i, k in enumerate(merged) if k in data and (i == 0 or merged[i - 1] != k)
            ]
            self._pending = []
        keys = self._sorted
        lo = bisect_left(keys, start)
        hi = len(keys) if end is None else bisect_left(keys, end)
        return keys[lo:hi] if lo < hi else []


class MemStore(KVStore):
    """A dict-backed ``KVStore`` for tests and genesis tools."""

    def __init__(self, data: dict[bytes, bytes] | None = None) -> None:
        self._data: dict[bytes, bytes] = {}
        self._keys = SortedKeys()
        for key in sorted(data or {}):
            self.set(key, (data or {})[key])

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or None."""
        return self._data.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        """Store ``value`` under ``key``."""
        _check_bytes(key, value)
        if key not in self._data:
            self._keys.add(key)
        self._data[key] = value

    def delete(self, key: bytes) -> None:
        """Remove ``key`` if present."""
        self._data.pop(key, None)

    def iterate(
        self, start: bytes, end: bytes | None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Pairs in ``[start, end)`` in bytewise order (descending when ``reverse``)."""
        keys = self._keys.range(self._data, start, end)
        if reverse:
            keys.reverse()
        return _present(keys, self._data)

    def items(self) -> list[tuple[bytes, bytes]]:
        """Every pair, sorted by key."""
        return list(self.iterate(b"", None))


class CacheStore(KVStore):
    """A branch: writes are buffered in memory over a parent ``KVStore``; deletes are tombstones.

    ``write()`` flushes the buffer into the parent (in key order) and empties it; dropping the
    branch discards its writes. Reads and iteration see the buffer merged over the parent.
    """

    def __init__(self, parent: KVStore) -> None:
        self._parent = parent
        self._writes: dict[bytes, bytes | None] = {}  # None = tombstone
        self._keys = SortedKeys()

    @property
    def parent(self) -> KVStore:
        """The store this branch writes into."""
        return self._parent

    def get(self, key: bytes) -> bytes | None:
        """The buffered value if any (None for a tombstone), else the parent's."""
        if key in self._writes:
            return self._writes[key]
        return self._parent.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        """Buffer a write."""
        _check_bytes(key, value)
        self._buffer(key, value)

    def delete(self, key: bytes) -> None:
        """Buffer a delete (a tombstone hides the parent's value)."""
        _check_bytes(key, b"")
        self._buffer(key, None)

    def _buffer(self, key: bytes, value: bytes | None) -> None:
        if key not in self._writes:
            self._keys.add(key)
        self._writes[key] = value

    def iterate(
        self, start: bytes, end: bytes | None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """The parent's pairs merged with the buffer: buffered values win, tombstones hide keys.

        Writes made to this branch during an iteration may or may not be seen by it.
        """
        keys = self._keys.range(self._writes, start, end)
        if reverse:
            keys.reverse()
        return _merge(self._parent.iterate(start, end, reverse), keys, self._writes, reverse)

    def branch(self) -> CacheStore:
        """A child branch over this one."""
        return CacheStore(self)

    def write(self) -> None:
        """Flush the buffered writes into the parent in key order, then clear the buffer."""
        for key in sorted(self._writes):
            value = self._writes[key]
            if value is None:
                self._parent.delete(key)
            else:
                self._parent.set(key, value)
        self._writes = {}
        self._keys.clear()

    def changes(self) -> dict[bytes, bytes | None]:
        """The buffered writes, sorted by key (None = delete)."""
        return {key: self._writes[key] for key in sorted(self._writes)}


def _check_bytes(key: bytes, value: bytes) -> None:
    # A str key would compare and hash differently on each node: reject it at the source.
    if not isinstance(key, bytes) or not isinstance(value, bytes):
        raise TypeError("store keys and values must be bytes")


def _present(keys: list[bytes], data: dict[bytes, bytes]) -> Iterator[tuple[bytes, bytes]]:
    for key in keys:
        value = data.get(key)
        if value is not None:
            yield key, value


def _merge(
    parent: Iterator[tuple[bytes, bytes]],
    keys: list[bytes],
    writes: dict[bytes, bytes | None],
    reverse: bool,
) -> Iterator[tuple[bytes, bytes]]:
    """Merge the parent's sorted pairs with sorted buffered keys (both in iteration order)."""
    head = next(parent, None)  # the parent's next pair; None once it is exhausted
    for key in keys:
        # Parent pairs that come before the buffered key pass through unchanged.
        while head is not None and ((head[0] > key) if reverse else (head[0] < key)):
            yield head
            head = next(parent, None)
        if head is not None and head[0] == key:  # shadowed by the buffer
            head = next(parent, None)
        value = writes.get(key)
        if value is not None:
            yield key, value
    while head is not None:
        yield head
        head = next(parent, None)
