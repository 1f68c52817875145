"""MemStore, CacheStore branches and prefix_end, checked against a plain dict model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.store import CacheStore, KVStore, MemStore, prefix_end

KEYS = st.binary(max_size=3)  # short keys: many collisions, prefixes and 0xff edges
VALUES = st.binary(max_size=3)
OPS = st.lists(st.tuples(KEYS, st.one_of(st.none(), VALUES)), max_size=40)
BOUNDS = st.tuples(KEYS, st.one_of(st.none(), KEYS))


def model_range(
    model: dict[bytes, bytes], start: bytes, end: bytes | None, reverse: bool
) -> list[tuple[bytes, bytes]]:
    pairs = sorted((k, v) for k, v in model.items() if k >= start and (end is None or k < end))
    return pairs[::-1] if reverse else pairs


def apply_ops(store: KVStore, model: dict[bytes, bytes], ops: list) -> None:
    for key, value in ops:
        if value is None:
            store.delete(key)
            model.pop(key, None)
        else:
            store.set(key, value)
            model[key] = value


def test_prefix_end_is_the_smallest_key_above_the_prefix() -> None:
    assert prefix_end(b"bank/") == b"bank0"
    assert prefix_end(b"a\xff\xff") == b"b"
    assert prefix_end(b"\x00") == b"\x01"


def test_prefix_end_is_unbounded_for_empty_or_all_ff_prefixes() -> None:
    assert prefix_end(b"") is None
    assert prefix_end(b"\xff\xff") is None


@given(prefix=KEYS, key=KEYS)
def test_prefix_end_bounds_exactly_the_keys_with_the_prefix(prefix: bytes, key: bytes) -> None:
    end = prefix_end(prefix)
    in_range = key >= prefix and (end is None or key < end)
    assert in_range == key.startswith(prefix)


@settings(max_examples=150, deadline=None)
@given(ops=OPS, bounds=BOUNDS, reverse=st.booleans())
def test_memstore_iterates_like_a_sorted_dict(ops: list, bounds: tuple, reverse: bool) -> None:
    store, model = MemStore(), {}
    apply_ops(store, model, ops)
    assert list(store.iterate(bounds[0], bounds[1], reverse)) == model_range(
        model, *bounds, reverse
    )


@settings(max_examples=200, deadline=None)
@given(
    base=OPS, first=OPS, second=OPS, third=OPS, bounds=BOUNDS, reverse=st.booleans(),
)  # fmt: skip
def test_nested_branches_merge_buffered_writes_over_the_parent(
    base: list, first: list, second: list, third: list, bounds: tuple, reverse: bool
) -> None:
    root, model = MemStore(), {}
    apply_ops(root, model, base)
    outer = CacheStore(root)
    apply_ops(outer, model, first)
    inner = outer.branch()
    apply_ops(inner, model, second)
    innermost = inner.branch()
    apply_ops(innermost, model, third)
    for key in {k for k, _ in base + first + second + third}:
        assert innermost.get(key) == model.get(key)
    assert list(innermost.iterate(bounds[0], bounds[1], reverse)) == model_range(
        model, *bounds, reverse
    )


@settings(max_examples=150, deadline=None)
@given(base=OPS, ops=OPS, bounds=BOUNDS, reverse=st.booleans())
def test_write_flushes_into_the_parent_and_empties_the_branch(
    base: list, ops: list, bounds: tuple, reverse: bool
) -> None:
    root, model = MemStore(), {}
    apply_ops(root, model, base)
    before = dict(model)
    branch = CacheStore(root)
    apply_ops(branch, model, ops)
    assert root.items() == sorted(before.items())  # nothing reaches the parent before write()
    branch.write()
    assert branch.changes() == {}
    assert list(root.iterate(bounds[0], bounds[1], reverse)) == model_range(model, *bounds, reverse)
    assert list(branch.iterate(bounds[0], bounds[1], reverse)) == model_range(
        model, *bounds, reverse
    )


def test_discarded_branch_leaves_no_trace() -> None:
    root = MemStore({b"a": b"1"})
    branch = CacheStore(root)
    branch.set(b"b", b"2")
    branch.delete(b"a")
    del branch
    assert root.items() == [(b"a", b"1")]


def test_changes_lists_sets_and_tombstones_in_key_order() -> None:
    branch = CacheStore(MemStore({b"a": b"1"}))
    branch.set(b"c", b"3")
    branch.delete(b"a")
    branch.delete(b"zz")  # absent in the parent: still recorded
    branch.set(b"b", b"")  # an empty value is a value
    assert list(branch.changes().items()) == [
        (b"a", None),
        (b"b", b""),
        (b"c", b"3"),
        (b"zz", None),
    ]


def test_tombstone_hides_parent_key_in_both_directions() -> None:
    branch = CacheStore(MemStore({b"a": b"1", b"b": b"2", b"c": b"3"}))
    branch.delete(b"b")
    assert list(branch.iterate(b"", None)) == [(b"a", b"1"), (b"c", b"3")]
    assert list(branch.iterate(b"", None, reverse=True)) == [(b"c", b"3"), (b"a", b"1")]


def test_deleting_while_iterating_does_not_break_the_iteration() -> None:
    branch = CacheStore(MemStore({bytes([i]): b"v" for i in range(10)}))
    seen = []
    for key, _ in branch.iterate(b"", None):
        seen.append(key)
        branch.delete(key)
    assert seen == [bytes([i]) for i in range(10)]
    assert list(branch.iterate(b"", None)) == []


def test_rejects_non_bytes_keys_and_values() -> None:
    branch = CacheStore(MemStore())
    with pytest.raises(TypeError):
        branch.set("a", b"1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        branch.set(b"a", "1")  # type: ignore[arg-type]


def test_stores_satisfy_the_kvstore_protocol() -> None:
    assert isinstance(MemStore(), KVStore)
    assert isinstance(CacheStore(MemStore()), KVStore)
