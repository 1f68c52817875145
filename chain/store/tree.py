"""The binary sparse Merkle tree (Jellyfish-style): hashing, node encoding, batch update, walks.

Pure Python, no database: nodes are read through a callback ``read(node_key) -> Node`` and a
batch update returns the nodes to write and the node keys it made stale. ``commit.py`` stores them.

Shape. The path of a key is ``sha256(key)`` read as 256 bits, most significant first (bit 0 is
the top of the tree). The tree is canonical: the subtree at a path prefix holding no key is empty,
holding one key is that key's leaf (a lone leaf is hoisted up to where its path diverges from
every other key), holding two or more is an internal node. So the root is a function of the key
set alone, and the depth is about log2(n).

Hashes (32 bytes each):
    leaf      = sha256(0x00 || key_hash || sha256(value))
    internal  = sha256(0x01 || left_hash || right_hash)
    empty     = 32 zero bytes (also the root of the empty tree)

Descriptors. A child reference is ``Desc = (kind, version, hash)``: ``kind`` is EMPTY, INTERNAL
or LEAF, ``version`` the version that wrote the child node. A node is stored under the node key
``version(u64 BE) || depth(u16 BE) || path``, with ``path`` the top ``depth`` bits of the key hash
packed MSB-first into ceil(depth/8) bytes (padding bits zero). A parent's descriptor plus the
child's position give the child's exact node key: reads never seek.

Decoded nodes (what ``read`` returns):
    (INTERNAL, left_desc, right_desc)
    (LEAF, key_hash, value_hash, key, value)
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from collections.abc import Callable, Mapping
from hashlib import sha256
from itertools import islice
from operator import itemgetter
from typing import Any

ZERO_HASH = b"\x00" * 32
EMPTY, INTERNAL, LEAF = 0, 1, 2
_PENDING = 3  # update result: a leaf whose position is chosen by the caller (hoisting)

Desc = tuple[int, int, bytes]  # (kind, version, hash)
Node = tuple[Any, ...]  # (INTERNAL, Desc, Desc) or (LEAF, key_hash, value_hash, key, value)
Reader = Callable[[bytes], Node]
# A leaf on the move during an update: (key_hash_int, key_hash, key, value | None, value_hash,
# leaf_hash, origin). value None = delete. origin = (version, depth, path) of the stored leaf
# node it equals, or None for a new or changed leaf.
Item = tuple[int, bytes, bytes, bytes | None, bytes, bytes, tuple[int, int, int] | None]

EMPTY_DESC: Desc = (EMPTY, 0, ZERO_HASH)
MAX_DEPTH = 256

_NODE_KEY_HEAD = struct.Struct(">QH")
_DESC = struct.Struct(">BQ32s")
_INTERNAL = struct.Struct(">BBQ32sBQ32s")
_KEY_LEN = struct.Struct(">I")
_first = itemgetter(0)


def hash_leaf(key_hash: bytes, value_hash: bytes) -> bytes:
    """The hash of a leaf: sha256(0x00 || key_hash || value_hash)."""
    return sha256(b"\x00" + key_hash + value_hash).digest()


def hash_internal(left: bytes, right: bytes) -> bytes:
    """The hash of an internal node: sha256(0x01 || left || right)."""
    return sha256(b"\x01" + left + right).digest()


def node_key(version: int, depth: int, path: int) -> bytes:
    """``version || depth || path bits`` (see module docstring); ``path`` is the top bits as int."""
    return _NODE_KEY_HEAD.pack(version, depth) + (path << (-depth & 7)).to_bytes(
        (depth + 7) >> 3, "big"
    )


def parse_node_key(key: bytes) -> tuple[int, int, int]:
    """``(version, depth, path)`` from a node key."""
    version, depth = _NODE_KEY_HEAD.unpack_from(key)
    return version, depth, int.from_bytes(key[10:], "big") >> (-depth & 7)


def encode_desc(desc: Desc) -> bytes:
    """41 bytes: kind (u8) || version (u64 BE) || hash (32)."""
    return _DESC.pack(*desc)


def decode_desc(raw: bytes) -> Desc:
    """The inverse of ``encode_desc``."""
    kind, version, digest = _DESC.unpack(raw)
    return kind, version, digest


def encode_internal(left: Desc, right: Desc) -> bytes:
    """0x01 || left desc (41) || right desc (41)."""
    return _INTERNAL.pack(INTERNAL, *left, *right)


def encode_leaf(key_hash: bytes, value_hash: bytes, key: bytes, value: bytes) -> bytes:
    """0x02 || key_hash (32) || value_hash (32) || len(key) (u32 BE) || key || value."""
    return b"\x02" + key_hash + value_hash + _KEY_LEN.pack(len(key)) + key + value


def decode_node(raw: bytes) -> Node:
    """A stored node's bytes to its decoded tuple; ValueError on bytes that are not a node."""
    if raw[:1] == b"\x01" and len(raw) == _INTERNAL.size:
        _, lk, lv, lh, rk, rv, rh = _INTERNAL.unpack(raw)
        return INTERNAL, (lk, lv, lh), (rk, rv, rh)
    if raw[:1] == b"\x02" and len(raw) >= 69:
        (key_len,) = _KEY_LEN.unpack_from(raw, 65)
        if 69 + key_len <= len(raw):
            return LEAF, raw[1:33], raw[33:65], raw[69 : 69 + key_len], raw[69 + key_len :]
    raise ValueError("malformed tree node")


def make_items(changes: Mapping[bytes, bytes | None]) -> list[Item]:
    """The changes as update items, sorted by key hash (so also by tree path)."""
    items: list[Item] = []
    for key, value in changes.items():
        kh = sha256(key).digest()
        if value is None:
            items.append((int.from_bytes(kh, "big"), kh, key, None, ZERO_HASH, ZERO_HASH, None))
        else:
            vh = sha256(value).digest()
            lh = sha256(b"\x00" + kh + vh).digest()
            items.append((int.from_bytes(kh, "big"), kh, key, value, vh, lh, None))
    items.sort(key=_first)
    return items


class TreeUpdate:
    """One batch update of the tree at a new version, computed in memory.

    Only the paths of changed keys are visited: the changes are sorted by key hash and split by
    one bit per level, so the cost is O(changes x depth) node reads, hashes and encodings.
    After ``apply``: ``new_nodes`` maps each node key to write to the node's encoding, and
    ``stale`` lists the node keys of the previous version that this version no longer uses.
    """

    def __init__(self, read: Reader, version: int) -> None:
        self._read = read
        self.version = version
        self.new_nodes: dict[bytes, bytes] = {}
        self.stale: list[bytes] = []

    def apply(self, root: Desc, changes: Mapping[bytes, bytes | None]) -> Desc:
        """The new root descriptor after applying ``changes`` to the tree rooted at ``root``."""
        items = make_items(changes)
        if not items:
            return root
        return self._place(self._update(0, 0, root, items, 0, len(items)), 0, 0)

    def _update(self, depth: int, path: int, old: Desc, items: list[Item], lo: int, hi: int) -> Any:
        """Apply ``items[lo:hi]`` (all under this position) to the subtree ``old`` found here."""
        kind = old[0]
        if kind == EMPTY:
            live = [item for item in items[lo:hi] if item[3] is not None]
            return self._build(depth, path, live, 0, len(live))
        if kind == LEAF:
            live = self._merge_leaf((old[1], depth, path), old[2], items[lo:hi])
            return self._build(depth, path, live, 0, len(live))
        okey = node_key(old[1], depth, path)
        node = self._read(okey)
        mid = bisect_left(items, ((path << 1) | 1) << (255 - depth), lo, hi, key=_first)
        left = self._update(depth + 1, path << 1, node[1], items, lo, mid) if lo < mid else node[1]
        right = (
            self._update(depth + 1, (path << 1) | 1, node[2], items, mid, hi)
            if mid < hi
            else node[2]
        )
        return self._combine(depth, path, left, right, old, okey, node)

    def _merge_leaf(self, origin: tuple[int, int, int], lh: bytes, items: list[Item]) -> list[Item]:
        """The live leaves under a position that held one stored leaf, after the changes."""
        okey = node_key(*origin)
        _, kh, vh, key, value = self._read(okey)
        khi = int.from_bytes(kh, "big")
        stored: Item = (khi, kh, key, value, vh, lh, origin)
        live: list[Item] = []
        touched = False
        for item in items:
            if item[0] != khi:
                if item[3] is not None:
                    live.append(item)
                continue
            touched = True
            if item[3] is not None and item[4] == vh:
                live.append(stored)  # same value written again: keep the stored node
                continue
            self.stale.append(okey)  # deleted or changed
            if item[3] is not None:
                live.append(item)
        if not touched:
            live.insert(bisect_left(live, khi, key=_first), stored)
        return live

    def _build(self, depth: int, path: int, items: list[Item], lo: int, hi: int) -> Any:
        """The subtree holding exactly the leaves ``items[lo:hi]`` (no stored subtree here)."""
        if hi - lo <= 1:
            return EMPTY_DESC if hi == lo else (_PENDING, items[lo])
        mid = bisect_left(items, ((path << 1) | 1) << (255 - depth), lo, hi, key=_first)
        left = self._build(depth + 1, path << 1, items, lo, mid)
        right = self._build(depth + 1, (path << 1) | 1, items, mid, hi)
        return self._combine(depth, path, left, right, None, None, None)

    def _combine(
        self,
        depth: int,
        path: int,
        left: Any,
        right: Any,
        old: Desc | None,
        okey: bytes | None,
        onode: Node | None,
    ) -> Any:
        """The node at this position given its two child results (hoisting a lone leaf)."""
        if left[0] == EMPTY or right[0] == EMPTY:
            only, bit = (right, 1) if left[0] == EMPTY else (left, 0)
            if only[0] != INTERNAL:  # zero or one leaf below: nothing lives here
                if okey is not None:
                    self.stale.append(okey)
                if only[0] == LEAF:  # an untouched stored leaf one level down moves up
                    return self._lift(only, depth + 1, (path << 1) | bit)
                return only
        ld = left if left[0] != _PENDING else self._place(left, depth + 1, path << 1)
        rd = right if right[0] != _PENDING else self._place(right, depth + 1, (path << 1) | 1)
        if onode is not None and ld == onode[1] and rd == onode[2]:
            return old  # unchanged subtree (e.g. a value rewritten with itself)
        version = self.version
        key = node_key(version, depth, path)
        self.new_nodes[key] = _INTERNAL.pack(INTERNAL, *ld, *rd)
        if okey is not None:
            self.stale.append(okey)
        return INTERNAL, version, sha256(b"\x01" + ld[2] + rd[2]).digest()

    def _lift(self, desc: Desc, depth: int, path: int) -> Any:
        """A pending leaf for the stored leaf ``desc`` at (depth, path), to be placed higher up."""
        origin = (desc[1], depth, path)
        _, kh, vh, key, value = self._read(node_key(*origin))
        return _PENDING, (int.from_bytes(kh, "big"), kh, key, value, vh, desc[2], origin)

    def _place(self, result: Any, depth: int, path: int) -> Desc:
        """The descriptor of ``result`` as the child at (depth, path), writing a leaf if needed."""
        if result[0] != _PENDING:
            return result  # type: ignore[no-any-return]
        _, kh, key, value, vh, lh, origin = result[1]
        if origin is not None and origin[1] == depth and origin[2] == path:
            return LEAF, origin[0], lh  # the stored leaf is already here
        nkey = node_key(self.version, depth, path)
        self.new_nodes[nkey] = encode_leaf(kh, vh, key, value)
        if origin is not None:
            self.stale.append(node_key(*origin))
        return LEAF, self.version, lh


def walk(read: Reader, root: Desc, key_hash: bytes) -> tuple[list[bytes], Node | None]:
    """Follow ``key_hash``'s path from ``root``: the sibling hashes met (top-down) and the leaf
    at the end of the path (any key's leaf, or None for an empty slot)."""
    khi = int.from_bytes(key_hash, "big")
    siblings: list[bytes] = []
    desc, depth, path = root, 0, 0
    while desc[0] == INTERNAL:
        node = read(node_key(desc[1], depth, path))
        bit = (khi >> (255 - depth)) & 1
        siblings.append(node[2 - bit][2])
        desc = node[1 + bit]
        depth, path = depth + 1, (path << 1) | bit
    if desc[0] == EMPTY:
        return siblings, None
    return siblings, read(node_key(desc[1], depth, path))


class NodeCache:
    """Stored node bytes by node key, bounded: deepest level first, least recently used within.

    Every block visits the top of the tree, while a node at depth d is on the path of a random
    key with probability 2^-d: so when full, the cache evicts from the deepest level it holds,
    oldest first. The store also drops nodes as they go stale, so the cache fills with the live
    upper levels of the tree. Values are the encoded bytes, decoded on each hit: a dict holding
    only bytes is never tracked by Python's cycle collector, so a large cache adds no GC time
    (decoded tuples made every full collection walk the whole cache).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        # One dict per depth, in least-recently-used order (a hit re-inserts the key at the end).
        self._levels: list[dict[bytes, bytes]] = [{} for _ in range(MAX_DEPTH + 1)]
        self._size = 0
        self._deepest = 0  # no level below this one holds a node
        self.misses = 0  # lookups not found (diagnostics: each one became a database read)

    def get(self, key: bytes) -> bytes | None:
        """The cached node bytes (now most recently used), or None."""
        level = self._levels[(key[8] << 8) | key[9]]  # node key bytes 8..9: the depth
        raw = level.pop(key, None)
        if raw is None:
            self.misses += 1
            return None
        level[key] = raw
        return raw

    def put(self, key: bytes, raw: bytes) -> None:
        """Cache a node's bytes, evicting beyond capacity."""
        if self.capacity <= 0:
            return
        depth = (key[8] << 8) | key[9]
        level = self._levels[depth]
        if level.pop(key, None) is None:
            self._size += 1
        level[key] = raw
        self._deepest = max(self._deepest, depth)
        if self._size > self.capacity:
            self._evict()

    def _evict(self) -> None:
        # Drop at least an eighth of a level at a time: rebuilding the level dict is linear in
        # its size, so eviction costs O(1) per node evicted.
        while self._size > self.capacity:
            while not self._levels[self._deepest]:
                self._deepest -= 1
            level = self._levels[self._deepest]
            count = min(len(level), max(self._size - self.capacity, len(level) // 8))
            self._levels[self._deepest] = dict(islice(level.items(), count, None))
            self._size -= count

    def discard(self, key: bytes) -> None:
        """Drop a node (stale or pruned)."""
        if self._levels[(key[8] << 8) | key[9]].pop(key, None) is not None:
            self._size -= 1

    def __len__(self) -> int:
        return self._size
