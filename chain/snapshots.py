"""State sync: snapshots of the committed app state, made, served and restored over ABCI.

A snapshot of height H is the flat table of the committed store at version H (every key and
value, ascending key order) as one byte stream, cut into chunks of ``chunk_bytes`` (the last one
shorter), each hashed with sha256. Its metadata (the ABCI ``Snapshot.metadata``) carries the
height, the app hash of H, the stream length, the entry count, the chunk size, a few
unauthenticated app metadata entries (chain id, block time) and every chunk hash;
``Snapshot.hash = sha256(metadata)``. The content depends only on the committed state, so every
node with the same settings makes the same snapshot, and CometBFT may fetch its chunks from
several of them. Byte layout (format 1) in docs/state-sync.md.

Restoring (a new node, store at height 0): OfferSnapshot checks the format, the sizes and the
metadata against ``Snapshot.hash`` and the app hash CometBFT's light client verified; every
ApplySnapshotChunk checks the chunk's length and hash against the metadata before parsing it
(bad: refetch it and reject the sender); after the last chunk the whole key set is staged and
its root must equal the trusted app hash, and only then is it committed, in the store's one
atomic write. A failure or a crash before that leaves the store empty, so CometBFT can retry;
a crash after it (before CometBFT saved its own state) leaves the restored height, and the same
snapshot offered again is accepted without rewriting the store.

Making (``SnapshotManager.maybe_snapshot``, called after Commit): every ``interval`` heights a
LevelDB snapshot of the committed version is pinned at once and exported on a background
thread into ``DIR/<height>.tmp``, renamed to ``DIR/<height>`` when complete (a crash leaves
only a ``.tmp`` folder, removed at the next start); the ``keep_recent`` newest are kept, and
each is listed to peers once the chain is ``LISTED_DEPTH`` heights past it.
"""

from __future__ import annotations

import re
import shutil
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any, Protocol

import chain.pb  # noqa: F401  (puts the bundled tendermint protos on the path)

import structlog

from tendermint.abci import types_pb2 as abci

log = structlog.get_logger("chain.snapshots")

FORMAT = 1  # ABCI Snapshot.format of the layout below; any other format is refused
MAX_CHUNKS = 100_000  # CometBFT's default [statesync] max_snapshot_chunks
MIN_CHUNK_BYTES = 1 << 10  # chunk size bounds (bytes) a snapshot may declare
MAX_CHUNK_BYTES = 8 << 20  # well under CometBFT's 16 MB chunk message limit
DEFAULT_CHUNK_BYTES = 4 << 20
MAX_META_ENTRIES = 16  # app metadata entries (chain id, block time, ...)
MAX_META_KEY_BYTES = 64
MAX_META_VALUE_BYTES = 256
MAX_KEY_BYTES = 1 << 16  # a store key in the stream
MAX_VALUE_BYTES = 64 << 20  # a store value in the stream (may span several chunks)
HASH_BYTES = 32

# format(u8) height(u64) app_hash(32) total_bytes(u64) entries(u64) chunk_bytes(u32)
_HEADER = struct.Struct(">BQ32sQQI")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
MAX_METADATA_BYTES = (
    _HEADER.size
    + 1
    + MAX_META_ENTRIES * (1 + MAX_META_KEY_BYTES + 2 + MAX_META_VALUE_BYTES)
    + HASH_BYTES * MAX_CHUNKS
)
MIN_ENTRY_BYTES = 4 + 1 + 4  # key length, a key of at least one byte, value length
LISTED_DEPTH = 3  # a snapshot is listed once the chain is this many heights past it
META_FILE = "metadata"
_TMP = ".tmp"

_Offer = abci.ResponseOfferSnapshot
_Apply = abci.ResponseApplySnapshotChunk


class SnapshotError(ValueError):
    """A snapshot's metadata or stream is malformed or inconsistent."""


class StoreView(Protocol):
    """What an export reads: one committed version of the store (``StoreSnapshot``)."""

    height: int
    app_hash: bytes

    def iterate(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]: ...

    def get_meta(self, key: bytes) -> bytes | None: ...

    def release(self) -> None: ...


class RestoreTarget(Protocol):
    """What a restore writes into: an empty ``CommitStore``."""

    @property
    def last_height(self) -> int: ...

    @property
    def last_app_hash(self) -> bytes: ...

    def stage(self, version: int, changes: Mapping[bytes, bytes | None]) -> bytes: ...

    def commit(self, extra_meta: dict[bytes, bytes] | None = None) -> bytes: ...

    def snapshot(self) -> Any: ...


# -- metadata ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotMetadata:
    """What ``Snapshot.metadata`` carries (format 1)."""

    height: int  # the store version (block height) exported
    app_hash: bytes  # its root hash (32 bytes), the app hash in header height + 1
    total_bytes: int  # length of the entry stream
    entries: int  # number of (key, value) entries in the stream
    chunk_bytes: int  # every chunk but the last has exactly this length
    meta: tuple[tuple[bytes, bytes], ...]  # app metadata (unauthenticated), sorted by key
    chunk_hashes: tuple[bytes, ...]  # sha256 of each chunk, in order

    def chunk_length(self, index: int) -> int:
        """The exact length of chunk ``index``."""
        if index < len(self.chunk_hashes) - 1:
            return self.chunk_bytes
        return self.total_bytes - (len(self.chunk_hashes) - 1) * self.chunk_bytes


def compute_chunk_count(total_bytes: int, chunk_bytes: int) -> int:
    """Chunks of a stream of ``total_bytes``: at least one (CometBFT refuses zero chunks)."""
    return max(1, -(-total_bytes // chunk_bytes))


def encode_metadata(m: SnapshotMetadata) -> bytes:
    """The canonical metadata bytes (``decode_metadata`` inverts it)."""
    out = bytearray(
        _HEADER.pack(FORMAT, m.height, m.app_hash, m.total_bytes, m.entries, m.chunk_bytes)
    )
    out.append(len(m.meta))
    for key, value in m.meta:
        out += bytes([len(key)]) + key + _U16.pack(len(value)) + value
    for digest in m.chunk_hashes:
        out += digest
    return bytes(out)


def decode_metadata(raw: bytes, chunks: int) -> SnapshotMetadata:
    """Parse metadata declared to hold ``chunks`` chunk hashes; ``SnapshotError`` on anything
    but the canonical form of a consistent snapshot. Lengths are checked before any slicing."""
    if not 1 <= chunks <= MAX_CHUNKS or not len(raw) <= MAX_METADATA_BYTES:
        raise SnapshotError("chunk count or metadata size out of bounds")
    if len(raw) < _HEADER.size + 1 + HASH_BYTES * chunks:
        raise SnapshotError("metadata too short")
    version, height, app_hash, total, entries, chunk_bytes = _HEADER.unpack_from(raw, 0)
    if version != FORMAT or height < 1 or not MIN_CHUNK_BYTES <= chunk_bytes <= MAX_CHUNK_BYTES:
        raise SnapshotError("bad format version, height or chunk size")
    if compute_chunk_count(total, chunk_bytes) != chunks or entries * MIN_ENTRY_BYTES > total:
        raise SnapshotError("stream length, chunk count and entry count disagree")
    meta, pos = _decode_meta(raw, _HEADER.size)
    if len(raw) - pos != HASH_BYTES * chunks:
        raise SnapshotError("metadata length does not match the chunk count")
    hashes = tuple(raw[i : i + HASH_BYTES] for i in range(pos, len(raw), HASH_BYTES))
    return SnapshotMetadata(height, app_hash, total, entries, chunk_bytes, meta, hashes)


def _decode_meta(raw: bytes, pos: int) -> tuple[tuple[tuple[bytes, bytes], ...], int]:
    count = raw[pos]
    pos += 1
    if count > MAX_META_ENTRIES:
        raise SnapshotError("too many app metadata entries")
    meta: list[tuple[bytes, bytes]] = []
    for _ in range(count):
        if pos + 1 > len(raw) or pos + 1 + raw[pos] + 2 > len(raw):
            raise SnapshotError("truncated app metadata")
        key = raw[pos + 1 : pos + 1 + raw[pos]]
        pos += 1 + len(key)
        size = _U16.unpack_from(raw, pos)[0]
        value = raw[pos + 2 : pos + 2 + size]
        pos += 2 + size
        if len(value) != size or not key or len(key) > MAX_META_KEY_BYTES:
            raise SnapshotError("bad app metadata entry")
        if size > MAX_META_VALUE_BYTES or (meta and key <= meta[-1][0]):
            raise SnapshotError("app metadata too long or not sorted")
        meta.append((key, value))
    return tuple(meta), pos


# -- export -----------------------------------------------------------------------------------


def encode_entry(key: bytes, value: bytes) -> bytes:
    """One stream entry: u32 len(key) || key || u32 len(value) || value."""
    return _U32.pack(len(key)) + key + _U32.pack(len(value)) + value


def export_snapshot(
    view: StoreView,
    *,
    chunk_bytes: int,
    meta_keys: Iterable[bytes],
    write_chunk: Callable[[int, bytes], None],
) -> SnapshotMetadata:
    """Stream every entry of ``view`` (ascending keys) into chunks handed to ``write_chunk``;
    returns the metadata. Deterministic: it depends only on the committed state and settings."""
    if not MIN_CHUNK_BYTES <= chunk_bytes <= MAX_CHUNK_BYTES:
        raise ValueError(f"chunk_bytes must be in {MIN_CHUNK_BYTES}..{MAX_CHUNK_BYTES}")
    buffer, total, entries = bytearray(), 0, 0
    hashes: list[bytes] = []
    for key, value in view.iterate(b"", None):
        buffer += encode_entry(key, value)
        entries += 1
        while len(buffer) >= chunk_bytes:
            chunk = bytes(buffer[:chunk_bytes])
            del buffer[:chunk_bytes]
            write_chunk(len(hashes), chunk)
            hashes.append(sha256(chunk).digest())
            total += len(chunk)
    if buffer or not hashes:
        write_chunk(len(hashes), bytes(buffer))
        hashes.append(sha256(bytes(buffer)).digest())
        total += len(buffer)
    found = {key: view.get_meta(key) for key in sorted(meta_keys)}
    meta = tuple((key, value) for key, value in found.items() if value is not None)
    return SnapshotMetadata(
        view.height, view.app_hash, total, entries, chunk_bytes, meta, tuple(hashes)
    )


# -- restore ----------------------------------------------------------------------------------


class StreamParser:
    """Parses verified chunks into entries as they arrive; ``SnapshotError`` on a malformed
    stream (bad lengths, keys not strictly ascending, entry count wrong). It never allocates
    from a declared length: a record waits until its bytes have arrived."""

    def __init__(self, metadata: SnapshotMetadata) -> None:
        self.metadata = metadata
        self.pairs: dict[bytes, bytes | None] = {}
        self._buffer = bytearray()
        self._last_key = b""
        self._received = 0

    def feed(self, chunk: bytes) -> None:
        """Append one chunk and parse every entry that is complete."""
        self._buffer += chunk
        self._received += len(chunk)
        buf, pos = self._buffer, 0
        while len(buf) - pos >= 4:
            key_len = _U32.unpack_from(buf, pos)[0]
            if not 1 <= key_len <= MAX_KEY_BYTES:
                raise SnapshotError("bad key length in the stream")
            if len(buf) - pos < 4 + key_len + 4:
                break
            value_len = _U32.unpack_from(buf, pos + 4 + key_len)[0]
            end = pos + 8 + key_len + value_len
            stream_end = self._received - len(buf) + end  # the entry's end in the whole stream
            if value_len > MAX_VALUE_BYTES or stream_end > self.metadata.total_bytes:
                raise SnapshotError("bad value length in the stream")
            if len(buf) < end:
                break
            self._add(bytes(buf[pos + 4 : pos + 4 + key_len]), bytes(buf[end - value_len : end]))
            pos = end
        del buf[:pos]

    def _add(self, key: bytes, value: bytes) -> None:
        if key <= self._last_key:
            raise SnapshotError("stream keys are not strictly ascending")
        if len(self.pairs) >= self.metadata.entries:
            raise SnapshotError("more entries than the metadata declares")
        self.pairs[key] = value
        self._last_key = key

    def finish(self) -> dict[bytes, bytes | None]:
        """Every entry, once the whole stream has arrived and parsed exactly."""
        if self._buffer or len(self.pairs) != self.metadata.entries:
            raise SnapshotError("stream ends inside an entry or holds the wrong entry count")
        return self.pairs


@dataclass
class _Restore:
    metadata: SnapshotMetadata
    trusted_app_hash: bytes
    parser: StreamParser
    # The store already holds this snapshot's height and app hash: the node restored it and
    # died before CometBFT recorded its own state. Chunks are checked, the store is kept.
    already_restored: bool = False
    next_index: int = 0


def check_offer(
    req: abci.RequestOfferSnapshot, expected_meta: Mapping[bytes, bytes]
) -> SnapshotMetadata | int:
    """The metadata of an acceptable offer, or the OfferSnapshot result refusing it. Cheap
    checks first: nothing is parsed or allocated before the sizes are known to be sane."""
    snapshot = req.snapshot
    if snapshot.format != FORMAT:
        return _Offer.REJECT_FORMAT
    raw = bytes(snapshot.metadata)
    if not 1 <= snapshot.chunks <= MAX_CHUNKS or len(raw) > MAX_METADATA_BYTES:
        return _Offer.REJECT
    if len(req.app_hash) != HASH_BYTES or sha256(raw).digest() != bytes(snapshot.hash):
        return _Offer.REJECT
    try:
        metadata = decode_metadata(raw, snapshot.chunks)
    except SnapshotError:
        return _Offer.REJECT
    meta = dict(metadata.meta)
    if metadata.height != snapshot.height or metadata.app_hash != bytes(req.app_hash):
        return _Offer.REJECT
    if any(meta.get(key) != value for key, value in expected_meta.items()):
        return _Offer.REJECT  # another chain's snapshot
    return metadata


# -- files ------------------------------------------------------------------------------------


class SnapshotFiles:
    """Snapshots on disk: ``DIR/<height, 20 digits>/metadata`` and ``.../<index, 6 digits>``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in directory.glob(f"*{_TMP}"):  # an export a crash interrupted
            shutil.rmtree(leftover, ignore_errors=True)

    def path(self, height: int) -> Path:
        return self.directory / f"{height:020d}"

    def heights(self) -> list[int]:
        """Heights of the complete snapshots, ascending."""
        names = (p.name for p in self.directory.iterdir() if p.is_dir())
        return sorted(int(n) for n in names if re.fullmatch(r"[0-9]{20}", n))

    def write(
        self,
        view: StoreView,
        chunk_bytes: int,
        meta_keys: Iterable[bytes],
        cancelled: Callable[[], bool] = lambda: False,
    ) -> bytes:
        """Export ``view`` into a temporary folder, renamed once complete; the metadata bytes.
        ``cancelled`` is asked before each chunk: True abandons the export (SnapshotError)."""
        final = self.path(view.height)
        tmp = final.with_name(final.name + _TMP)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()

        def write_chunk(index: int, chunk: bytes) -> None:
            if cancelled():
                raise SnapshotError("export cancelled")
            (tmp / f"{index:06d}").write_bytes(chunk)

        metadata = export_snapshot(
            view, chunk_bytes=chunk_bytes, meta_keys=meta_keys, write_chunk=write_chunk
        )
        raw = encode_metadata(metadata)
        (tmp / META_FILE).write_bytes(raw)
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        return raw

    def read_metadata(self, height: int) -> bytes:
        return (self.path(height) / META_FILE).read_bytes()

    def read_chunk(self, height: int, index: int) -> bytes | None:
        try:
            return (self.path(height) / f"{index:06d}").read_bytes()
        except OSError:
            return None

    def prune(self, keep: int) -> None:
        """Delete all but the ``keep`` newest snapshots."""
        for height in self.heights()[:-keep] if keep > 0 else []:
            shutil.rmtree(self.path(height), ignore_errors=True)


# -- the ABCI side ----------------------------------------------------------------------------


class SnapshotManager:
    """Makes snapshots after Commit, serves them, and restores one into an empty store."""

    def __init__(
        self,
        directory: Path,
        *,
        interval: int = 0,
        keep_recent: int = 2,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        meta_keys: Iterable[bytes] = (),
    ) -> None:
        """``interval``: make a snapshot at every height divisible by it (0 = never; this node
        can still restore one). ``keep_recent``: snapshots kept (>= 1). ``chunk_bytes``: chunk
        size. ``meta_keys``: app metadata keys (``CommitStore.get_meta``) carried along."""
        if interval < 0 or keep_recent < 1:
            raise ValueError("interval must be >= 0 and keep_recent >= 1")
        if not MIN_CHUNK_BYTES <= chunk_bytes <= MAX_CHUNK_BYTES:
            raise ValueError(f"chunk_bytes must be in {MIN_CHUNK_BYTES}..{MAX_CHUNK_BYTES}")
        self.files = SnapshotFiles(directory)
        self.interval, self.keep_recent, self.chunk_bytes = interval, keep_recent, chunk_bytes
        self.meta_keys = tuple(sorted(meta_keys))
        self._worker: threading.Thread | None = None
        self._closing = threading.Event()
        self._tip = 0  # last committed height seen by maybe_snapshot (after every Commit)
        self._restore: _Restore | None = None

    # making

    def maybe_snapshot(self, store: RestoreTarget) -> bool:
        """After Commit: at a snapshot height, pin the committed version now and export it on
        a background thread. Skipped (False) while the previous export still runs."""
        height = store.last_height
        self._tip = height
        if self.interval == 0 or height % self.interval != 0 or self._closing.is_set():
            return False
        if self._worker is not None and self._worker.is_alive():
            log.warning("snapshot skipped: the previous one is still being written", height=height)
            return False
        view = store.snapshot()
        self._worker = threading.Thread(
            target=self._export, args=(view,), name=f"snapshot-{height}", daemon=True
        )
        self._worker.start()
        return True

    def _export(self, view: StoreView) -> None:
        try:
            raw = self.files.write(view, self.chunk_bytes, self.meta_keys, self._closing.is_set)
            self.files.prune(self.keep_recent)
            log.info("snapshot made", height=view.height, metadata_bytes=len(raw))
        except Exception:  # a node-local failure (disk): log it, the chain goes on
            log.exception("snapshot failed", height=view.height)
        finally:
            view.release()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running export (tests)."""
        if self._worker is not None:
            self._worker.join(timeout)

    def close(self) -> None:
        """Stop a running export (its ``.tmp`` folder is left for the next start to delete) and
        wait for it: call before closing the store, whose LevelDB snapshot the export reads
        (plyvel crashes the process when a database closes under a live iterator)."""
        self._closing.set()
        self.wait()

    # serving

    def list_snapshots(self, tip: int | None = None) -> abci.ResponseListSnapshots:
        """The complete snapshots on disk, newest first, at least LISTED_DEPTH heights below
        ``tip`` (default: the last committed height): a joining node's light client needs the
        headers of snapshot + 1 and + 2, and CometBFT rejects a snapshot for good when they do
        not exist yet and goes on to another, after light-client timeouts."""
        tip = self._tip if tip is None else tip
        out = []
        for height in reversed(self.files.heights()):
            if height + LISTED_DEPTH > tip:
                continue
            try:
                raw = self.files.read_metadata(height)
            except OSError:
                continue  # pruned meanwhile
            chunks = (len(raw) - _metadata_prefix_length(raw)) // HASH_BYTES
            out.append(
                abci.Snapshot(
                    height=height,
                    format=FORMAT,
                    chunks=chunks,
                    hash=sha256(raw).digest(),
                    metadata=raw,
                )
            )
        return abci.ResponseListSnapshots(snapshots=out)

    def load_chunk(self, req: abci.RequestLoadSnapshotChunk) -> abci.ResponseLoadSnapshotChunk:
        """One chunk's bytes; empty when this node does not hold it."""
        if req.format != FORMAT or req.chunk >= MAX_CHUNKS:
            return abci.ResponseLoadSnapshotChunk()
        chunk = self.files.read_chunk(req.height, req.chunk)
        return abci.ResponseLoadSnapshotChunk(chunk=chunk or b"")

    # restoring

    def offer(
        self,
        store: RestoreTarget,
        req: abci.RequestOfferSnapshot,
        expected_meta: Mapping[bytes, bytes],
    ) -> abci.ResponseOfferSnapshot:
        """Accept a well-formed offer whose metadata matches the trusted app hash."""
        self._restore = None
        checked = check_offer(req, expected_meta)
        if isinstance(checked, int):
            log.warning("snapshot refused", height=req.snapshot.height, result=checked)
            return _Offer(result=checked)
        done = (store.last_height, store.last_app_hash) == (checked.height, bytes(req.app_hash))
        if store.last_height != 0 and not done:
            log.warning("snapshot offered to a node that has state", height=store.last_height)
            return _Offer(result=_Offer.REJECT)  # CometBFT may offer the one it restored
        self._restore = _Restore(checked, bytes(req.app_hash), StreamParser(checked), done)
        log.info("snapshot accepted", height=checked.height, chunks=len(checked.chunk_hashes))
        return _Offer(result=_Offer.ACCEPT)

    def apply_chunk(
        self, store: RestoreTarget, req: abci.RequestApplySnapshotChunk
    ) -> abci.ResponseApplySnapshotChunk:
        """Verify and parse one chunk; after the last, restore the store (or refuse it all)."""
        restore = self._restore
        if restore is None:
            return _Apply(result=_Apply.ABORT)
        if req.index != restore.next_index:
            self._restore = None
            return _Apply(result=_Apply.RETRY_SNAPSHOT)
        chunk = bytes(req.chunk)
        expected = restore.metadata.chunk_hashes[req.index]
        if len(chunk) != restore.metadata.chunk_length(req.index) or (
            sha256(chunk).digest() != expected
        ):
            log.warning("bad snapshot chunk; refetching", index=req.index, sender=req.sender)
            return _Apply(
                result=_Apply.RETRY, refetch_chunks=[req.index], reject_senders=[req.sender]
            )
        if restore.already_restored:
            restore.next_index += 1
            if restore.next_index == len(restore.metadata.chunk_hashes):
                self._restore = None
                log.info("snapshot was already restored", height=restore.metadata.height)
            return _Apply(result=_Apply.ACCEPT)
        try:
            restore.parser.feed(chunk)
            restore.next_index += 1
            if restore.next_index == len(restore.metadata.chunk_hashes):
                return self._finish(store, restore)
        except SnapshotError as exc:
            self._restore = None
            log.warning("snapshot stream malformed; rejected", error=str(exc))
            return _Apply(result=_Apply.REJECT_SNAPSHOT)
        return _Apply(result=_Apply.ACCEPT)

    def _finish(self, store: RestoreTarget, restore: _Restore) -> abci.ResponseApplySnapshotChunk:
        """Stage the whole key set; commit it only when its root is the trusted app hash."""
        self._restore = None
        pairs = restore.parser.finish()
        metadata = restore.metadata
        if store.last_height != 0:
            return _Apply(result=_Apply.ABORT)
        root = store.stage(metadata.height, pairs)
        if root != restore.trusted_app_hash:
            log.error("restored state has the wrong app hash", height=metadata.height)
            return _Apply(result=_Apply.REJECT_SNAPSHOT)
        store.commit(extra_meta=dict(metadata.meta))
        log.info("state restored from snapshot", height=metadata.height, entries=len(pairs))
        return _Apply(result=_Apply.ACCEPT)


def _metadata_prefix_length(raw: bytes) -> int:
    """Bytes before the chunk hashes in metadata this node wrote itself."""
    pos = _HEADER.size + 1
    for _ in range(raw[_HEADER.size]):
        pos += 1 + raw[pos]
        pos += 2 + _U16.unpack_from(raw, pos)[0]
    return pos
