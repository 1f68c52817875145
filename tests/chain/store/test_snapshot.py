"""CommitStore.snapshot: one committed version pinned for a whole query, whatever commits later."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.store import CacheStore, CommitStore, ReadOnlyError


def _store(tmp_path: Path) -> CommitStore:
    store = CommitStore(str(tmp_path / "db"))
    store.stage(1, {b"a": b"1", b"b": b"2"})
    store.commit(extra_meta={b"time": b"100"})
    return store


def test_snapshot_keeps_its_version_after_later_commits(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.snapshot() as snapshot:
        store.stage(2, {b"a": b"9", b"b": None, b"c": b"3"})
        store.commit(extra_meta={b"time": b"200"})
        assert (snapshot.height, snapshot.app_hash) == (1, store.root_at(1))
        assert snapshot.get(b"a") == b"1" and snapshot.get(b"c") is None
        assert list(snapshot.iterate(b"", None)) == [(b"a", b"1"), (b"b", b"2")]
        assert list(snapshot.iterate(b"a", b"b", reverse=True)) == [(b"a", b"1")]
        assert snapshot.get_meta(b"time") == b"100"
    assert list(store.latest().iterate(b"", None)) == [(b"a", b"9"), (b"c", b"3")]
    store.close()


def test_snapshot_is_read_only_and_branches_like_any_store(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.snapshot() as snapshot:
        with pytest.raises(ReadOnlyError):
            snapshot.set(b"a", b"x")
        with pytest.raises(ReadOnlyError):
            snapshot.delete(b"a")
        branch = CacheStore(snapshot)
        branch.set(b"a", b"x")
        assert branch.get(b"a") == b"x" and snapshot.get(b"a") == b"1"
    store.close()


def test_snapshot_iteration_never_leaves_the_flat_table(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.snapshot() as snapshot:  # the database also holds nodes, roots and metadata
        assert [key for key, _ in snapshot.iterate(b"", None)] == [b"a", b"b"]
        assert [key for key, _ in snapshot.iterate(b"", None, reverse=True)] == [b"b", b"a"]
    store.close()


@pytest.mark.parametrize("view", ["latest", "snapshot"])
def test_descending_ranges_hold_every_key_even_a_lone_one(tmp_path: Path, view: str) -> None:
    store = CommitStore(str(tmp_path / "db"))
    store.stage(1, {b"a": b"1", b"b": b"2", b"c": b"3"})
    store.commit()
    source = store.latest() if view == "latest" else store.snapshot()
    # plyvel's own reverse iterator returns nothing for [b, c): a one-key range.
    assert list(source.iterate(b"b", b"c", reverse=True)) == [(b"b", b"2")]
    assert list(source.iterate(b"a", b"c", reverse=True)) == [(b"b", b"2"), (b"a", b"1")]
    assert list(source.iterate(b"b", None, reverse=True)) == [(b"c", b"3"), (b"b", b"2")]
    assert list(source.iterate(b"", b"a", reverse=True)) == []
    assert list(source.iterate(b"c", b"c\x00", reverse=True)) == [(b"c", b"3")]
    store.close()
