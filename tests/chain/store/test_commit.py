"""CommitStore: staging, committing, reopening, historical reads, pruning and the flat table."""

from __future__ import annotations

import random
import tempfile
from collections import Counter

import plyvel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.store import CacheStore, CommitStore, ReadOnlyError, StoreError, VersionError
from chain.store import commit as commit_module
from chain.store.commit import NODE, ROOT, STALE
from chain.store.proof import verify_proof
from chain.store.tree import EMPTY, INTERNAL, decode_desc, decode_node, node_key
from tests.chain.store.reference import ZERO, apply, reference_root

CHANGES = st.dictionaries(
    st.binary(max_size=2), st.one_of(st.none(), st.binary(max_size=3)), max_size=20
)


def random_batches(seed: int, count: int, keys: int, size: int) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            b"mod/%d" % rng.randrange(keys): None if rng.random() < 0.25 else b"%d" % rng.random()
            for _ in range(rng.randrange(size))
        }
        for _ in range(count)
    ]


def key_prefix_counts(path: str) -> Counter:
    db = plyvel.DB(path)
    try:
        return Counter(k[:1] for k in db.iterator(include_value=False))
    finally:
        db.close()


def test_new_store_is_at_height_zero_with_the_empty_root(tmp_path) -> None:
    with CommitStore(str(tmp_path / "db")) as s:
        assert (s.last_height, s.last_app_hash) == (0, ZERO)
        assert s.retained_versions() == (0, 0)
        assert s.get_at(b"k", 0) is None
        assert list(s.latest().iterate(b"", None)) == []


@settings(max_examples=25, deadline=None)
@given(batches=st.lists(CHANGES, min_size=1, max_size=6))
def test_committed_roots_equal_the_reference_and_survive_reopen(batches: list) -> None:
    model: dict[bytes, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for version, changes in enumerate(batches, start=1):
            with CommitStore(tmp + "/db") as s:  # reopen before every block
                staged = s.stage(version, changes)
                apply(model, changes)
                assert staged == reference_root(model)
                assert s.commit() == staged == s.last_app_hash == s.root_at(version)
                assert list(s.latest().iterate(b"", None)) == sorted(model.items())


def test_stage_starts_from_the_last_commit_each_time(tmp_path) -> None:
    with CommitStore(str(tmp_path / "db")) as s:
        s.stage(1, {b"a": b"1"})
        s.commit()
        s.stage(2, {b"b": b"2"})
        hash_c = s.stage(2, {b"c": b"3"})  # replaces the first staging
        assert s.latest().get(b"b") is None  # staging writes nothing
        assert s.commit() == hash_c == reference_root({b"a": b"1", b"c": b"3"})
        assert s.latest().get(b"b") is None and s.latest().get(b"c") == b"3"


def test_stage_rejects_a_version_not_above_the_last_height(tmp_path) -> None:
    with CommitStore(str(tmp_path / "db")) as s:
        s.stage(5, {})
        s.commit()
        for version in (4, 5):
            with pytest.raises(ValueError):
                s.stage(version, {})


def test_commit_without_stage_fails(tmp_path) -> None:
    with CommitStore(str(tmp_path / "db")) as s, pytest.raises(StoreError):
        s.commit()


def test_empty_change_set_still_commits_a_version(tmp_path) -> None:
    with CommitStore(str(tmp_path / "db")) as s:
        s.stage(1, {b"a": b"1"})
        first = s.commit()
        s.stage(2, {})
        assert s.commit() == first
        assert s.retained_versions() == (1, 2) and s.root_at(2) == first
        assert s.get_at(b"a", 2) == b"1"


def test_deleting_the_last_key_and_readding_it(tmp_path) -> None:
    with CommitStore(str(tmp_path / "db")) as s:
        s.stage(1, {b"a": b"1"})
        s.commit()
        s.stage(2, {b"a": None})
        assert s.commit() == ZERO
        s.stage(3, {b"a": b"1", b"b": None})
        assert s.commit() == reference_root({b"a": b"1"})
        assert [s.get_at(b"a", v) for v in (1, 2, 3)] == [b"1", None, b"1"]


def test_latest_view_is_read_only_and_iterates_in_both_directions(tmp_path) -> None:
    with CommitStore(str(tmp_path / "db")) as s:
        s.stage(1, {b"a": b"1", b"b": b"2", b"c": b"3", b"d": b""})
        s.commit()
        view = s.latest()
        with pytest.raises(ReadOnlyError):
            view.set(b"x", b"y")
        with pytest.raises(ReadOnlyError):
            view.delete(b"a")
        assert list(view.iterate(b"b", b"d")) == [(b"b", b"2"), (b"c", b"3")]
        assert list(view.iterate(b"b", None, reverse=True)) == [
            (b"d", b""), (b"c", b"3"), (b"b", b"2"),
        ]  # fmt: skip
        branch = CacheStore(view)
        branch.delete(b"c")
        branch.set(b"bb", b"x")
        assert [k for k, _ in branch.iterate(b"", None, reverse=True)] == [b"d", b"bb", b"b", b"a"]


def test_extra_meta_is_saved_with_the_commit(tmp_path) -> None:
    path = str(tmp_path / "db")
    with CommitStore(path) as s:
        s.stage(1, {})
        s.commit(extra_meta={b"chain_id": b"infera-1"})
        s.stage(2, {})
        s.commit(extra_meta={b"block_time": b"42"})
    with CommitStore(path) as s:
        assert s.get_meta(b"chain_id") == b"infera-1" and s.get_meta(b"block_time") == b"42"
        assert s.get_meta(b"nothing") is None


def test_historical_reads_and_proofs_at_every_retained_version(tmp_path) -> None:
    path = str(tmp_path / "db")
    history, model = [{}], {}
    batches = random_batches(seed=3, count=12, keys=60, size=25)
    with CommitStore(path) as s:
        for version, changes in enumerate(batches, start=1):
            s.stage(version, changes)
            s.commit()
            apply(model, changes)
            history.append(dict(model))
    with CommitStore(path) as s:
        for version in range(1, len(batches) + 1):
            root = s.root_at(version)
            assert root == reference_root(history[version])
            for key in [b"mod/%d" % i for i in range(62)]:
                assert s.get_at(key, version) == history[version].get(key)
                value, proof = s.prove(key, version)
                assert value == history[version].get(key)
                assert verify_proof(root, key, value, proof)
        with pytest.raises(VersionError):
            s.get_at(b"mod/1", len(batches) + 1)


def test_unknown_versions_raise(tmp_path) -> None:
    with CommitStore(str(tmp_path / "db")) as s:
        s.stage(10, {b"a": b"1"})  # a chain starting at initial height 10
        s.commit()
        s.stage(11, {})
        s.commit()
        assert s.retained_versions() == (10, 11)
        for version in (0, 5, 12):
            with pytest.raises(VersionError):
                s.root_at(version)


def test_pruning_drops_old_versions_and_keeps_recent_ones_provable(tmp_path) -> None:
    path = str(tmp_path / "db")
    keep, history, model = 3, [{}], {}
    batches = random_batches(seed=7, count=30, keys=300, size=80)
    with CommitStore(path, keep_recent=keep) as s:
        for version, changes in enumerate(batches, start=1):
            s.stage(version, changes)
            s.commit()
            apply(model, changes)
            history.append(dict(model))
            assert s.retained_versions() == (max(1, version - keep + 1), version)
        last = len(batches)
        for version in range(1, last - keep + 1):
            with pytest.raises(VersionError, match="pruned"):
                s.get_at(b"mod/1", version)
            with pytest.raises(VersionError):
                s.prove(b"mod/1", version)
        for version in range(last - keep + 1, last + 1):
            for key in [b"mod/%d" % i for i in range(0, 300, 7)]:
                value, proof = s.prove(key, version)
                assert value == history[version].get(key)
                assert verify_proof(s.root_at(version), key, value, proof)
    pruned_counts = key_prefix_counts(path)
    with CommitStore(str(tmp_path / "full")) as s:
        for version, changes in enumerate(batches, start=1):
            s.stage(version, changes)
            s.commit()
    full_counts = key_prefix_counts(str(tmp_path / "full"))
    assert pruned_counts[ROOT] == keep and full_counts[ROOT] == len(batches)
    assert pruned_counts[NODE] < full_counts[NODE] / 3  # the database really shrank


def reachable_nodes(db: plyvel.DB, version: int) -> set[bytes]:
    found: set[bytes] = set()

    def visit(desc: tuple, depth: int, path: int) -> None:
        if desc[0] == EMPTY:
            return
        key = node_key(desc[1], depth, path)
        found.add(key)
        node = decode_node(db.get(NODE + key))
        if desc[0] == INTERNAL:
            visit(node[1], depth + 1, path << 1)
            visit(node[2], depth + 1, (path << 1) | 1)

    visit(decode_desc(db.get(ROOT + version.to_bytes(8, "big"))), 0, 0)
    return found


def test_pruned_database_holds_exactly_the_nodes_of_retained_versions(tmp_path) -> None:
    path = str(tmp_path / "db")
    batches = random_batches(seed=11, count=20, keys=200, size=60)
    with CommitStore(path, keep_recent=2) as s:
        for version, changes in enumerate(batches, start=1):
            s.stage(version, changes)
            s.commit()
        oldest, newest = s.retained_versions()
    db = plyvel.DB(path)
    try:
        stale_since = [
            int.from_bytes(k[1:9], "big") for k in db.iterator(prefix=STALE, include_value=False)
        ]
        nodes = {k[1:] for k in db.iterator(prefix=NODE, include_value=False)}
        assert nodes == reachable_nodes(db, oldest) | reachable_nodes(db, newest)
    finally:
        db.close()
    assert (oldest, newest) == (19, 20)
    assert stale_since and all(since > oldest for since in stale_since)


def test_pruning_work_per_commit_is_bounded_and_catches_up(tmp_path, monkeypatch) -> None:
    BUDGET = 250  # noqa: N806
    path = str(tmp_path / "db")
    batches = random_batches(seed=5, count=8, keys=1500, size=800)
    with CommitStore(path) as s:  # keep everything first
        for version, changes in enumerate(batches, start=1):
            s.stage(version, changes)
            s.commit()
    stale = key_prefix_counts(path)[STALE]
    assert stale > 1000
    monkeypatch.setattr(commit_module, "PRUNE_MIN_BATCH", BUDGET)
    version = len(batches)
    while stale > 0:
        version += 1
        with CommitStore(path, keep_recent=1) as s:  # now keep only the newest version
            s.stage(version, {})
            s.commit()
            assert s.retained_versions() == (version, version)
        counts = key_prefix_counts(path)
        roots_deleted = len(batches) if version == len(batches) + 1 else 1
        assert counts[STALE] == max(0, stale - (BUDGET - roots_deleted))  # bounded work
        stale = counts[STALE]
    assert key_prefix_counts(path)[ROOT] == 1


def test_historical_reads_do_not_fill_the_node_cache(tmp_path) -> None:
    path = str(tmp_path / "db")
    with CommitStore(path) as s:
        for version, changes in enumerate(random_batches(seed=2, count=5, keys=500, size=300), 1):
            s.stage(version, changes)
            s.commit()
    with CommitStore(path) as s:  # a cold cache
        for i in range(100):
            s.get_at(b"mod/%d" % i, 2)
            s.prove(b"mod/%d" % i, 3)
        assert s.stats().cached_nodes == 0
        s.prove(b"mod/1", 5)  # the latest tree does fill it
        assert s.stats().cached_nodes > 0


def test_stats_report_the_staged_work(tmp_path) -> None:
    with CommitStore(str(tmp_path / "db")) as s:
        assert s.stats().staged_nodes == 0
        s.stage(1, {b"a": b"1", b"b": b"2"})
        assert s.stats().staged_nodes == 3  # two leaves and the root
        s.commit()
        s.stage(2, {b"a": b"3"})
        assert (s.stats().staged_nodes, s.stats().staged_stale) == (2, 2)
