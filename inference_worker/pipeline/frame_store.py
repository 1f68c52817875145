"""What a receiving hop keeps of a finished session's frames, for validators to fetch.

A hop is judged on what it received (VERIFICATION.md, "Judging a hop on what it received")
only when a validator holds the signed frames it received. They are far over the reveal's
size cap, so the receiver keeps them after the session ends and serves them on request
(`Pipeline.ReceivedFrames`, server.py): the bytes of `frames.encode_received_frames`, keyed by
(job id, route index, receiving hop index). Validators check them against the sender's late
signature over H_last (already in the receiver's reveal), so a store that serves wrong bytes
only loses its own hop the benefit of them; it cannot frame its sender.

Bounds: `FrameStoreLimits` (total bytes, entries, bytes per entry, seconds kept). When a new
entry would cross a bound the OLDEST entries go first (a session's dispute comes soon after
its reveal window; the chain's verdict windows are minutes at 1 s blocks). Memory only: a
restarted worker has none, and its hops are then judged from the reference input (what a
withholding receiver gets; VERIFICATION.md says what that costs it).

Pure bookkeeping: the clock is passed in (seconds, monotonic), no I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

FramesKey = tuple[int, int, int]  # (job id, route index, receiving hop index)


@dataclass(frozen=True)
class FrameStoreLimits:
    """How much of the finished sessions' received frames one worker keeps."""

    max_bytes: int = 512 * 1024 * 1024  # all entries together (bytes)
    max_entries: int = 4096  # sessions kept at once
    max_entry_bytes: int = 96 * 1024 * 1024  # one session's encoded frames (bytes); SmolLM2
    # fp32 at 8192 positions: ~19 MB; a larger one is not kept (its hop is judged as before)
    retention_s: float = 6 * 3600.0  # seconds an entry is kept after its session ended


class ReceivedFramesStore:
    """Encoded received frames by (job, route, hop), oldest evicted first."""

    def __init__(self, limits: FrameStoreLimits | None = None) -> None:
        self.limits = limits or FrameStoreLimits()
        self._entries: OrderedDict[FramesKey, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def put(self, key: FramesKey, data: bytes, *, now: float) -> bool:
        """Keep `data` (encoded frames) under `key`, replacing an older entry of the same key;
        False (nothing kept) when it alone exceeds `max_entry_bytes` or `max_bytes`."""
        self.expire(now=now)
        if len(data) > min(self.limits.max_entry_bytes, self.limits.max_bytes):
            return False
        self._remove(key)
        while self._entries and (
            len(self._entries) >= self.limits.max_entries
            or self._bytes + len(data) > self.limits.max_bytes
        ):
            self._remove(next(iter(self._entries)))
        self._entries[key] = (now, data)
        self._bytes += len(data)
        return True

    def get(self, key: FramesKey, *, now: float) -> bytes | None:
        """The frames kept under `key`, or None (never kept, evicted or expired)."""
        self.expire(now=now)
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def expire(self, *, now: float) -> None:
        """Drop the entries older than `retention_s` (entries are in insertion order)."""
        horizon = now - self.limits.retention_s
        while self._entries:
            key, (stored, _) = next(iter(self._entries.items()))
            if stored >= horizon:
                return
            self._remove(key)

    def _remove(self, key: FramesKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[1])
