"""State-sync snapshots (chain/snapshots.py): export, verify, restore, refuse."""

from __future__ import annotations

import random
import time
import tracemalloc
from hashlib import sha256
from pathlib import Path

import chain.pb  # noqa: F401

import pytest

from chain.snapshots import (
    FORMAT,
    MAX_CHUNKS,
    MAX_METADATA_BYTES,
    SnapshotManager,
    SnapshotMetadata,
    encode_entry,
    encode_metadata,
)
from chain.store import CommitStore
from tendermint.abci import types_pb2 as abci

OFFER, APPLY = abci.ResponseOfferSnapshot, abci.ResponseApplySnapshotChunk
CHUNK = 1024  # small chunks: a few hundred keys make many of them
TIP = 1 << 40  # a chain far past every snapshot made here (all are listed)
META = {b"chain_id": b"infera-test", b"last_block_time_ns": b"1700000000000000000"}


def build_store(path: Path, seed: int = 1, versions: int = 5) -> CommitStore:
    """A store with a few hundred keys written over several versions (updates and deletes)."""
    rng = random.Random(seed)
    store = CommitStore(str(path), keep_recent=3)
    keys = [f"mod/{i:04d}".encode() for i in range(400)]
    for version in range(1, versions + 1):
        changes: dict[bytes, bytes | None] = {}
        for key in rng.sample(keys, 120):
            changes[key] = None if rng.random() < 0.1 else rng.randbytes(rng.randint(0, 90))
        store.stage(version, changes)
        store.commit(extra_meta=META)
    return store


def make_snapshot(tmp_path: Path, store: CommitStore) -> SnapshotManager:
    manager = SnapshotManager(
        tmp_path / "snapshots", interval=1, keep_recent=2, chunk_bytes=CHUNK, meta_keys=META
    )
    assert manager.maybe_snapshot(store)
    manager.wait()
    return manager


def offer_request(snapshot: abci.Snapshot, app_hash: bytes) -> abci.RequestOfferSnapshot:
    return abci.RequestOfferSnapshot(snapshot=snapshot, app_hash=app_hash)


def chunks_of(manager: SnapshotManager, snapshot: abci.Snapshot) -> list[bytes]:
    request = abci.RequestLoadSnapshotChunk
    return [
        manager.load_chunk(request(height=snapshot.height, format=FORMAT, chunk=i)).chunk
        for i in range(snapshot.chunks)
    ]


def apply_all(
    manager: SnapshotManager, store: CommitStore, chunks: list[bytes]
) -> list[abci.ResponseApplySnapshotChunk]:
    request = abci.RequestApplySnapshotChunk
    return [
        manager.apply_chunk(store, request(index=i, chunk=c, sender="peer"))
        for i, c in enumerate(chunks)
    ]


def flat(store: CommitStore) -> list[tuple[bytes, bytes]]:
    return list(store.latest().iterate(b"", None))


@pytest.fixture
def source(tmp_path: Path):
    store = build_store(tmp_path / "source.db")
    manager = make_snapshot(tmp_path / "source", store)
    snapshot = manager.list_snapshots(tip=TIP).snapshots[0]
    yield store, manager, snapshot
    store.close()


@pytest.fixture
def target(tmp_path: Path):
    store = CommitStore(str(tmp_path / "target.db"))
    manager = SnapshotManager(tmp_path / "target-snapshots")
    yield store, manager
    store.close()


def restore(target, snapshot, chunks, app_hash) -> list[int]:
    store, manager = target
    offered = manager.offer(store, offer_request(snapshot, app_hash), {})
    assert offered.result == OFFER.ACCEPT
    return [r.result for r in apply_all(manager, store, chunks)]


# -- round trip ---------------------------------------------------------------------------------


def test_restore_yields_the_same_app_hash_state_and_metadata(source, target) -> None:
    store, manager, snapshot = source
    chunks = chunks_of(manager, snapshot)
    assert snapshot.height == 5 and snapshot.chunks == len(chunks) > 10

    results = restore(target, snapshot, chunks, store.last_app_hash)

    restored = target[0]
    assert results == [APPLY.ACCEPT] * len(chunks)
    assert (restored.last_height, restored.last_app_hash) == (5, store.last_app_hash)
    assert flat(restored) == flat(store)
    assert all(restored.get_meta(key) == value for key, value in META.items())


def test_restored_store_commits_the_next_block_like_the_source(source, target) -> None:
    store, manager, snapshot = source
    restore(target, snapshot, chunks_of(manager, snapshot), store.last_app_hash)
    changes: dict[bytes, bytes | None] = {b"mod/0001": b"new", b"mod/0399": None, b"zz": b"1"}

    assert target[0].stage(6, changes) == store.stage(6, changes)


def test_export_depends_only_on_the_state(tmp_path: Path, source) -> None:
    store, _, snapshot = source
    other = CommitStore(str(tmp_path / "other.db"))  # same final state in one version
    other.stage(9, dict(flat(store)))
    other.commit(extra_meta=META)
    manager = SnapshotManager(tmp_path / "o", interval=9, chunk_bytes=CHUNK, meta_keys=META)
    manager.maybe_snapshot(other)
    manager.wait()
    again = manager.list_snapshots(tip=TIP).snapshots[0]
    other.close()

    assert other.last_app_hash == store.last_app_hash
    assert again.metadata[9:] == snapshot.metadata[9:]  # all but the height
    assert again.chunks == snapshot.chunks


# -- verification -------------------------------------------------------------------------------


def test_flipped_byte_in_a_chunk_is_refetched_and_its_sender_rejected(source, target) -> None:
    store, manager, snapshot = source
    chunks = chunks_of(manager, snapshot)
    bad = bytearray(chunks[2])
    bad[17] ^= 0x01
    t_store, t_manager = target
    assert t_manager.offer(t_store, offer_request(snapshot, store.last_app_hash), {}).result == 1
    apply_all(t_manager, t_store, chunks[:2])

    request = abci.RequestApplySnapshotChunk(index=2, chunk=bytes(bad), sender="liar")
    response = t_manager.apply_chunk(t_store, request)

    assert response.result == APPLY.RETRY
    assert list(response.refetch_chunks) == [2] and list(response.reject_senders) == ["liar"]
    rest = [
        t_manager.apply_chunk(t_store, abci.RequestApplySnapshotChunk(index=i, chunk=c)).result
        for i, c in enumerate(chunks[2:], start=2)
    ]
    assert rest == [APPLY.ACCEPT] * len(rest)
    assert t_store.last_app_hash == store.last_app_hash


def test_chunk_of_the_wrong_length_is_refetched(source, target) -> None:
    store, manager, snapshot = source
    t_store, t_manager = target
    t_manager.offer(t_store, offer_request(snapshot, store.last_app_hash), {})
    chunk = chunks_of(manager, snapshot)[0] + b"x"

    response = t_manager.apply_chunk(t_store, abci.RequestApplySnapshotChunk(index=0, chunk=chunk))

    assert response.result == APPLY.RETRY and t_store.last_height == 0


def test_offer_with_another_app_hash_is_rejected(source, target) -> None:
    store, _, snapshot = source
    t_store, t_manager = target
    wrong = sha256(b"not the trusted hash").digest()

    assert t_manager.offer(t_store, offer_request(snapshot, wrong), {}).result == OFFER.REJECT
    response = t_manager.apply_chunk(t_store, abci.RequestApplySnapshotChunk(index=0, chunk=b""))
    assert response.result == APPLY.ABORT  # nothing was accepted


def test_offer_of_another_chain_is_rejected(source, target) -> None:
    store, _, snapshot = source
    t_store, t_manager = target
    request = offer_request(snapshot, store.last_app_hash)

    assert t_manager.offer(t_store, request, {b"chain_id": b"other"}).result == OFFER.REJECT
    assert t_manager.offer(t_store, request, {b"chain_id": b"infera-test"}).result == OFFER.ACCEPT


def test_offer_to_a_node_with_other_state_is_rejected(tmp_path: Path, source) -> None:
    store, _, snapshot = source
    other = build_store(tmp_path / "other.db", seed=2, versions=7)
    request = offer_request(snapshot, store.last_app_hash)

    assert SnapshotManager(tmp_path / "o").offer(other, request, {}).result == OFFER.REJECT
    other.close()


def test_crash_after_the_restore_commit_accepts_the_same_snapshot_again(
    tmp_path: Path, source, target
) -> None:
    store, manager, snapshot = source
    chunks = chunks_of(manager, snapshot)
    restore(target, snapshot, chunks, store.last_app_hash)
    # the process died before CometBFT saved its state: it state-syncs again after a restart
    restarted = (target[0], SnapshotManager(tmp_path / "restarted"))

    results = restore(restarted, snapshot, chunks, store.last_app_hash)

    assert results == [APPLY.ACCEPT] * len(chunks)
    assert (target[0].last_height, target[0].last_app_hash) == (5, store.last_app_hash)
    bad = abci.RequestApplySnapshotChunk(index=0, chunk=b"forged", sender="liar")
    restarted[1].offer(target[0], offer_request(snapshot, store.last_app_hash), {})
    assert restarted[1].apply_chunk(target[0], bad).result == APPLY.RETRY  # still verified


def forged_snapshot(
    entries: list[tuple[bytes, bytes]], app_hash: bytes, declared: int | None = None
) -> tuple[abci.Snapshot, list[bytes]]:
    """A self-consistent snapshot (hashes right) of any stream, claiming ``app_hash``."""
    stream = b"".join(encode_entry(k, v) for k, v in entries)
    chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)] or [b""]
    metadata = SnapshotMetadata(
        height=5,
        app_hash=app_hash,
        total_bytes=len(stream),
        entries=len(entries) if declared is None else declared,
        chunk_bytes=CHUNK,
        meta=(),
        chunk_hashes=tuple(sha256(c).digest() for c in chunks),
    )
    raw = encode_metadata(metadata)
    snapshot = abci.Snapshot(
        height=5, format=FORMAT, chunks=len(chunks), hash=sha256(raw).digest(), metadata=raw
    )
    return snapshot, chunks


def test_state_with_another_root_is_rejected_and_nothing_stays(source, target) -> None:
    store, manager, good = source
    entries = flat(store)
    entries[10] = (entries[10][0], b"forged balance")
    snapshot, chunks = forged_snapshot(entries, store.last_app_hash)

    results = restore(target, snapshot, chunks, store.last_app_hash)

    assert results[:-1] == [APPLY.ACCEPT] * (len(chunks) - 1)
    assert results[-1] == APPLY.REJECT_SNAPSHOT
    assert target[0].last_height == 0 and flat(target[0]) == []
    # the node can go on with an honest snapshot
    assert set(restore(target, good, chunks_of(manager, good), store.last_app_hash)) == {1}
    assert target[0].last_app_hash == store.last_app_hash


@pytest.mark.parametrize(
    "entries, declared",
    [
        ([(b"b", b"1"), (b"a", b"2")], None),  # keys not ascending
        ([(b"a", b"1"), (b"a", b"2")], None),  # duplicate key
        ([(b"a", b"1"), (b"b", b"2")], 1),  # more entries than declared
        ([(b"a", b"1" * 40), (b"b", b"2")], 3),  # fewer entries than declared
        ([(b"", b"1")], None),  # empty key
    ],
)
def test_malformed_stream_is_rejected(target, entries, declared) -> None:
    app_hash = sha256(b"x").digest()
    snapshot, chunks = forged_snapshot(entries, app_hash, declared)

    results = restore(target, snapshot, chunks, app_hash)

    assert results[-1] == APPLY.REJECT_SNAPSHOT and target[0].last_height == 0


def test_crash_mid_restore_leaves_an_empty_store_that_restores_again(
    tmp_path: Path, source
) -> None:
    store, manager, snapshot = source
    chunks = chunks_of(manager, snapshot)
    path = str(tmp_path / "crashy.db")
    first, first_manager = CommitStore(path), SnapshotManager(tmp_path / "c")
    first_manager.offer(first, offer_request(snapshot, store.last_app_hash), {})
    apply_all(first_manager, first, chunks[: len(chunks) // 2])
    first.close()  # the process dies here

    reopened = CommitStore(path)
    results = restore(
        (reopened, SnapshotManager(tmp_path / "c")), snapshot, chunks, store.last_app_hash
    )

    assert results == [APPLY.ACCEPT] * len(chunks)
    assert reopened.last_app_hash == store.last_app_hash
    reopened.close()


# -- hostile offers -----------------------------------------------------------------------------


def test_hostile_offers_are_refused(source, target) -> None:
    store, _, good = source
    t_store, t_manager = target
    trusted = store.last_app_hash

    def result(**changes) -> int:
        snapshot = abci.Snapshot()
        snapshot.CopyFrom(good)
        for name, value in changes.items():
            setattr(snapshot, name, value)
        return t_manager.offer(t_store, offer_request(snapshot, trusted), {}).result

    huge = b"\x00" * (MAX_METADATA_BYTES + 1)
    assert result(format=2) == OFFER.REJECT_FORMAT
    assert result(chunks=0) == OFFER.REJECT
    assert result(chunks=2**32 - 1) == OFFER.REJECT
    assert result(chunks=MAX_CHUNKS + 1) == OFFER.REJECT
    assert result(chunks=good.chunks + 1) == OFFER.REJECT  # hash still matches the metadata
    assert result(metadata=huge, hash=sha256(huge).digest()) == OFFER.REJECT
    assert result(hash=sha256(b"other").digest()) == OFFER.REJECT
    assert result(height=good.height + 1) == OFFER.REJECT
    for position in (0, 9, 41, 49, 57, 60, 61):  # version, app hash, total, entries, chunk size
        bad = bytearray(good.metadata)
        bad[position] ^= 0xFF
        assert result(metadata=bytes(bad), hash=sha256(bytes(bad)).digest()) == OFFER.REJECT
    assert result() == OFFER.ACCEPT


# -- making and serving -------------------------------------------------------------------------


def test_snapshots_every_interval_newest_kept(tmp_path: Path) -> None:
    store = CommitStore(str(tmp_path / "s.db"))
    manager = SnapshotManager(tmp_path / "snaps", interval=2, keep_recent=2, chunk_bytes=CHUNK)
    made = []
    for version in range(1, 8):
        store.stage(version, {f"k{version}".encode(): b"v" * 600})
        store.commit()
        made.append(manager.maybe_snapshot(store))
        manager.wait()

    listed = manager.list_snapshots(tip=TIP).snapshots

    assert made == [False, True, False, True, False, True, False]
    assert [s.height for s in listed] == [6, 4]
    # offered only 3 heights below the tip (7 here): a joiner needs headers up to snapshot + 2
    assert [s.height for s in manager.list_snapshots().snapshots] == [4]
    for snapshot in listed:
        assert snapshot.hash == sha256(snapshot.metadata).digest()
        for index, chunk in enumerate(chunks_of(manager, snapshot)):
            start = len(snapshot.metadata) - 32 * (snapshot.chunks - index)
            assert sha256(chunk).digest() == snapshot.metadata[start : start + 32]
    missing = abci.RequestLoadSnapshotChunk(height=2, format=FORMAT, chunk=0)
    assert manager.load_chunk(missing).chunk == b""
    store.close()


def test_interrupted_export_is_never_listed_and_is_cleaned_up(tmp_path: Path) -> None:
    directory = tmp_path / "snaps"
    (directory / f"{8:020d}.tmp").mkdir(parents=True)
    (directory / f"{8:020d}.tmp" / "000000").write_bytes(b"partial")

    manager = SnapshotManager(directory)

    assert manager.list_snapshots(tip=TIP).snapshots == []
    assert list(directory.iterdir()) == []


def test_hostile_chunk_count_is_refused_without_allocating(source, target) -> None:
    store, _, good = source
    t_store, t_manager = target
    hostile = abci.Snapshot()
    hostile.CopyFrom(good)
    hostile.chunks = 2**32 - 1  # would be 128 GiB of chunk hashes, 4 Gi chunk slots
    request = offer_request(hostile, store.last_app_hash)

    tracemalloc.start()
    result = t_manager.offer(t_store, request, {}).result
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert result == OFFER.REJECT
    assert peak < 64 << 10  # bytes: nothing sized by the declared count


def test_export_sees_its_height_while_later_blocks_commit(tmp_path: Path, target) -> None:
    store = build_store(tmp_path / "busy.db", versions=3)
    store.stage(4, {f"big/{i:05d}".encode(): b"v" * 64 for i in range(10_000)})
    store.commit(extra_meta=META)
    expected = store.last_app_hash
    manager = SnapshotManager(tmp_path / "busy", interval=4, chunk_bytes=1 << 16, meta_keys=META)
    assert manager.maybe_snapshot(store)  # the export runs on its thread from here
    for version in range(5, 9):  # meanwhile the chain goes on, rewriting the same keys
        store.stage(
            version, {f"big/{i:05d}".encode(): bytes([version]) for i in range(0, 10_000, 7)}
        )
        store.commit(extra_meta=META)
    manager.wait()
    snapshot = manager.list_snapshots(tip=TIP).snapshots[0]

    results = restore(target, snapshot, chunks_of(manager, snapshot), expected)

    assert snapshot.height == 4 and set(results) == {APPLY.ACCEPT}
    assert target[0].last_app_hash == expected != store.last_app_hash
    store.close()


class SlowStore:
    """A store whose snapshots read slowly (1 ms per entry): an export that takes seconds."""

    def __init__(self, store: CommitStore) -> None:
        self.store = store
        self.last_height = store.last_height

    def snapshot(self):
        view = self.store.snapshot()
        iterate = view.iterate

        def slow(start, end, reverse=False):
            for pair in iterate(start, end, reverse):
                time.sleep(0.001)
                yield pair

        view.iterate = slow
        return view


def test_close_stops_a_running_export_before_the_store_closes(tmp_path: Path) -> None:
    store = CommitStore(str(tmp_path / "big.db"))
    store.stage(1, {f"k/{i:06d}".encode(): b"v" * 64 for i in range(5_000)})
    store.commit()
    manager = SnapshotManager(tmp_path / "snaps", interval=1, chunk_bytes=1024)
    assert manager.maybe_snapshot(SlowStore(store))  # an export of about 5 s
    time.sleep(0.2)

    began = time.monotonic()
    manager.close()  # returns once the export thread has stopped
    stopped_in = time.monotonic() - began
    store.close()  # safe now: no iterator is left on the database

    assert stopped_in < 4, stopped_in  # s: it stopped at a chunk, not after the >= 5 s export
    assert manager.list_snapshots(tip=TIP).snapshots == []
    assert not manager.maybe_snapshot(store)  # a closed manager starts nothing
    assert SnapshotManager(tmp_path / "snaps").list_snapshots(tip=TIP).snapshots == []
    assert list((tmp_path / "snaps").iterdir()) == []  # the abandoned .tmp is gone
