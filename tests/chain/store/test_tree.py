"""The incremental tree update against the from-scratch reference, and its node bookkeeping."""

from __future__ import annotations

from hashlib import sha256

from hypothesis import given, settings
from hypothesis import strategies as st

from chain.store.tree import (
    EMPTY,
    EMPTY_DESC,
    INTERNAL,
    LEAF,
    Desc,
    Node,
    NodeCache,
    TreeUpdate,
    decode_node,
    encode_internal,
    encode_leaf,
    node_key,
    parse_node_key,
)
from tests.chain.store.reference import ZERO, apply, reference_root

KEYS = st.binary(min_size=0, max_size=2)
CHANGES = st.dictionaries(KEYS, st.one_of(st.none(), st.binary(max_size=2)), max_size=25)


class MemTree:
    """The tree over a dict of nodes, with the bookkeeping CommitStore does on disk."""

    def __init__(self) -> None:
        self.nodes: dict[bytes, Node] = {}
        self.stale: dict[bytes, int] = {}  # node key -> version it went stale at
        self.root: Desc = EMPTY_DESC
        self.version = 0

    def commit(self, changes: dict[bytes, bytes | None]) -> TreeUpdate:
        self.version += 1
        update = TreeUpdate(self.nodes.__getitem__, self.version)
        self.root = update.apply(self.root, changes)
        assert len(update.stale) == len(set(update.stale)), "a node was made stale twice"
        for key in update.stale:
            assert key in self.nodes and key not in self.stale
            self.stale[key] = self.version
        for key, encoded in update.new_nodes.items():
            assert key not in self.nodes
            self.nodes[key] = decode_node(encoded)
        return update

    def reachable(self) -> set[bytes]:
        found: set[bytes] = set()

        def visit(desc: Desc, depth: int, path: int) -> None:
            if desc[0] == EMPTY:
                return
            key = node_key(desc[1], depth, path)
            found.add(key)
            node = self.nodes[key]
            if desc[0] == INTERNAL:
                visit(node[1], depth + 1, path << 1)
                visit(node[2], depth + 1, (path << 1) | 1)

        visit(self.root, 0, 0)
        return found


def check_shape(tree: MemTree) -> None:
    """Every stored child hash is the child's real hash, and internal nodes hold >= 2 leaves."""

    def leaves(desc: Desc, depth: int, path: int) -> int:
        if desc[0] == EMPTY:
            assert desc[2] == ZERO
            return 0
        node = tree.nodes[node_key(desc[1], depth, path)]
        if desc[0] == LEAF:
            assert node[0] == LEAF
            assert desc[2] == sha256(b"\x00" + node[1] + node[2]).digest()
            assert int.from_bytes(node[1], "big") >> (256 - depth) == path  # on its own path
            return 1
        assert node[0] == INTERNAL
        assert desc[2] == sha256(b"\x01" + node[1][2] + node[2][2]).digest()
        count = leaves(node[1], depth + 1, path << 1) + leaves(node[2], depth + 1, (path << 1) | 1)
        assert count >= 2, "an internal node with fewer than two leaves below it"
        return count

    leaves(tree.root, 0, 0)


@settings(max_examples=120, deadline=None)
@given(batches=st.lists(CHANGES, min_size=1, max_size=8))
def test_root_equals_the_reference_after_every_batch(batches: list) -> None:
    tree, model = MemTree(), {}
    for changes in batches:
        tree.commit(changes)
        apply(model, changes)
        assert tree.root[2] == reference_root(model)
        check_shape(tree)


@settings(max_examples=80, deadline=None)
@given(batches=st.lists(CHANGES, min_size=1, max_size=8))
def test_stale_index_covers_exactly_the_nodes_no_longer_reachable(batches: list) -> None:
    tree = MemTree()
    for changes in batches:
        tree.commit(changes)
        reachable = tree.reachable()
        assert reachable.isdisjoint(tree.stale)
        assert reachable | set(tree.stale) == set(tree.nodes)


@settings(max_examples=60, deadline=None)
@given(state=st.dictionaries(KEYS, st.binary(max_size=2), max_size=30), data=st.data())
def test_root_does_not_depend_on_update_order(state: dict, data: st.DataObject) -> None:
    keys = sorted(state)
    order = data.draw(st.permutations(keys))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(keys)), max_size=4)))
    one_shot, piecewise = MemTree(), MemTree()
    one_shot.commit(dict(state))
    bounds = [0, *cuts, len(keys)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        piecewise.commit({k: state[k] for k in order[lo:hi]})
    assert one_shot.root[2] == piecewise.root[2] == reference_root(state)


def test_empty_tree_root_is_32_zero_bytes() -> None:
    tree = MemTree()
    tree.commit({})
    assert tree.root == EMPTY_DESC and tree.root[2] == ZERO


def test_single_key_tree_is_one_leaf_at_the_root() -> None:
    tree = MemTree()
    tree.commit({b"k": b"v"})
    assert tree.root[0] == LEAF
    assert tree.root[2] == sha256(b"\x00" + sha256(b"k").digest() + sha256(b"v").digest()).digest()


def test_deleting_the_last_key_empties_the_tree() -> None:
    tree = MemTree()
    tree.commit({b"a": b"1", b"b": b"2"})
    tree.commit({b"a": None})
    assert tree.root[0] == LEAF  # the survivor is hoisted to the root
    tree.commit({b"b": None})
    assert tree.root == EMPTY_DESC


def test_rewriting_the_same_values_writes_no_nodes() -> None:
    tree = MemTree()
    tree.commit({bytes([i]): b"v" for i in range(50)})
    update = tree.commit({bytes([i]): b"v" for i in range(0, 50, 3)} | {b"absent": None})
    assert update.new_nodes == {} and update.stale == []


def test_update_touches_only_the_changed_paths() -> None:
    tree = MemTree()
    tree.commit({b"%05d" % i: b"v" for i in range(4096)})
    update = tree.commit({b"00007": b"w"})
    assert 1 <= len(update.new_nodes) <= 40  # one path: depth ~ log2(4096) + a few
    assert len(update.stale) == len(update.new_nodes)


def test_node_encodings_round_trip() -> None:
    left: Desc = (LEAF, 7, b"\x11" * 32)
    assert decode_node(encode_internal(left, EMPTY_DESC)) == (INTERNAL, left, EMPTY_DESC)
    leaf = encode_leaf(b"\x01" * 32, b"\x02" * 32, b"key", b"")
    assert decode_node(leaf) == (LEAF, b"\x01" * 32, b"\x02" * 32, b"key", b"")


def test_node_keys_pack_depth_and_path_bits() -> None:
    assert node_key(1, 0, 0) == bytes.fromhex("00000000000000010000")
    assert node_key(2, 3, 0b101) == bytes.fromhex("00000000000000020003a0")
    assert parse_node_key(node_key(9, 256, (1 << 256) - 1)) == (9, 256, (1 << 256) - 1)


def deep_prefix_keys(count: int, bits: int) -> list[bytes]:
    """``count`` keys whose sha256 share the first ``bits`` bits (found by a deterministic scan)."""
    groups: dict[int, list[bytes]] = {}
    i = 0
    while True:
        key = b"deep/%d" % i
        group = groups.setdefault(int.from_bytes(sha256(key).digest(), "big") >> (256 - bits), [])
        group.append(key)
        if len(group) == count:
            return group
        i += 1


def test_leaves_sharing_long_prefixes_are_pushed_down_and_hoisted_back() -> None:
    keys = deep_prefix_keys(3, 10)  # a chain of >= 10 single-child internal nodes above them
    tree, model = MemTree(), {}
    for batch in (
        {keys[0]: b"a"},
        {keys[1]: b"b"},  # pushes keys[0]'s leaf down to where the two paths diverge
        {keys[2]: b"c", b"other": b"o"},
        {keys[0]: None, keys[1]: None},  # keys[2] is hoisted back up
        {keys[2]: None, keys[1]: b"again"},  # deleted and another re-added in one batch
        {b"other": None, keys[1]: None},
    ):
        tree.commit(batch)
        apply(model, batch)
        assert tree.root[2] == reference_root(model)
        check_shape(tree)
        reachable = tree.reachable()
        assert reachable | set(tree.stale) == set(tree.nodes)
    assert tree.root == EMPTY_DESC


def test_node_cache_evicts_the_deepest_level_first() -> None:
    cache = NodeCache(capacity=3)
    shallow, mid, deep, deeper = (node_key(1, d, 0) for d in (1, 5, 9, 12))
    for key in (shallow, deeper, mid):
        cache.put(key, b"node")
    cache.get(deeper)  # recently used, but still the deepest
    cache.put(deep, (LEAF,))
    assert cache.get(deeper) is None
    assert all(cache.get(k) is not None for k in (shallow, mid, deep))
    cache.discard(mid)
    assert len(cache) == 2 and cache.get(mid) is None


def test_node_cache_is_least_recently_used_within_a_level() -> None:
    cache = NodeCache(capacity=2)
    a, b, c = (node_key(v, 4, 3) for v in (1, 2, 3))
    cache.put(a, (LEAF,))
    cache.put(b, (LEAF,))
    cache.get(a)
    cache.put(c, (LEAF,))
    assert cache.get(b) is None and cache.get(a) is not None and cache.get(c) is not None


def test_node_cache_stays_within_capacity_and_keeps_the_recent_nodes() -> None:
    cache = NodeCache(capacity=100)
    keys = [node_key(v, 20, 5) for v in range(1, 1001)]
    for key in keys:
        cache.put(key, b"node")
        cache.get(keys[0])  # one hot node
    assert 80 <= len(cache) <= 100
    assert cache.get(keys[0]) is not None and cache.get(keys[-1]) is not None
    assert cache.get(keys[500]) is None
