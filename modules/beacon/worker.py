"""The beacon's background process (node-local): the BLS work, moved off the consensus thread.

py-ecc is pure Python and holds the GIL, so a thread would still stall the ABCI loop: the work
runs in one child process (``concurrent.futures.ProcessPoolExecutor``, ``spawn`` start method:
the node has gRPC threads, which a forked child must not inherit). Two kinds of jobs:

* the share of height H + 1, signed as soon as this node extended its vote for H (the message
  is (chain id, height), known in advance): ExtendVote(H + 1) returns it without signing;
* the aggregate check of the shares FinalizeBlock(H + 1) recorded as pending
  (keeper.process_shares), started right after that FinalizeBlock: FinalizeBlock(H + 2) takes
  its result.

Both are pure functions of their arguments (``logic.compute_share``, ``logic.compute_outcome``),
looked up by their full arguments, so the chain's result never depends on whether, or when, the
process answered: a miss (first height, a restart, a replay, a crashed process) computes inline,
as the node did before. One process, so its caches (the hashed message of a height, shared by
signing and checking; validated keys) serve both jobs.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import structlog

from modules.beacon import logic

log = structlog.get_logger("beacon.worker")

# Longest a consensus call waits for a job already running, then computes inline: waiting for
# the rest of a job is never slower than starting it again (only a hung child reaches this).
WAIT_SECONDS = 30.0
KEEP_JOBS = 4  # finished jobs kept per kind (heights are asked for once, a round change twice)

CheckKey = tuple[bytes, tuple[logic.Share, ...], int]


class BeaconWorker:
    """One child process computing beacon shares and aggregate checks ahead of time."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(1, mp_context=context)
        self._shares: dict[tuple[int, str, int], Future[bytes]] = {}
        self._checks: dict[CheckKey, Future[tuple[list[logic.Share], bytes | None]]] = {}
        # node-local counters (tests, the bench): results taken, computed inline, waited for
        self.hits = self.misses = self.waits = 0

    # -- shares ---------------------------------------------------------------------------------

    def prefetch_share(self, secret: int, chain_id: str, height: int) -> None:
        """Start signing ``height``'s share (idempotent)."""
        key = (secret, chain_id, height)
        if key not in self._shares:
            future = self._submit(logic.compute_share, secret, chain_id, height)
            if future is not None:
                self._shares[key] = future
                _trim(self._shares)

    def share(self, secret: int, chain_id: str, height: int) -> bytes:
        """The share of ``height``: the precomputed one, else signed here."""
        result = self._result(self._shares.get((secret, chain_id, height)))
        if result is None:
            self.misses += 1
            log.info("beacon share signed inline", height=height, misses=self.misses)
            return logic.compute_share(secret, chain_id, height)
        self.hits += 1
        return bytes(result)

    # -- aggregate checks -----------------------------------------------------------------------

    def prefetch_outcome(self, shares: Sequence[logic.Share], message: bytes, total: int) -> None:
        """Start ``logic.compute_outcome`` of these shares, handing over this process's
        decompressed points (VerifyVoteExtension made them) so the child does not redo them."""
        key = (message, tuple(shares), total)
        if key in self._checks:
            return
        points = {s.signature: logic._share_point(s.signature) for s in shares}
        future = self._submit(logic.compute_outcome, list(shares), message, total, points)
        if future is not None:
            self._checks[key] = future
            _trim(self._checks)

    def outcome(
        self, shares: Sequence[logic.Share], message: bytes, total: int
    ) -> tuple[list[logic.Share], bytes | None]:
        """``logic.compute_outcome(shares, message, total)``: the precomputed result when this
        exact input was started, else computed here (the same value either way)."""
        if not shares:
            return logic.compute_outcome(shares, message, total)  # nothing to check
        result = self._result(self._checks.pop((message, tuple(shares), total), None))
        if result is None:
            self.misses += 1
            log.info("beacon aggregate checked inline", shares=len(shares), misses=self.misses)
            return logic.compute_outcome(shares, message, total)
        self.hits += 1
        valid, value = result
        return list(valid), value

    # -- the process ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the child now (it imports py-ecc, ~1-3 s), not at the first height's job."""
        self._submit(logic.compute_message, "", 0)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _submit(self, fn: Any, *args: Any) -> Future[Any] | None:
        if self._pool is None:
            return None
        try:
            return self._pool.submit(fn, *args)
        except Exception as exc:  # BrokenProcessPool, or shut down: compute inline from now on
            log.error("beacon worker unavailable; computing inline", error=str(exc))
            self._pool = None
            return None

    def _result(self, future: Future[Any] | None) -> Any:
        if future is None:
            return None
        if not future.done():  # the consensus call waits for the rest of the job
            self.waits += 1
            log.info("beacon waits for its background process", waits=self.waits)
        try:
            return future.result(timeout=WAIT_SECONDS)
        except Exception as exc:  # timeout, a dead child: the caller computes inline
            log.warning("beacon worker job failed; computing inline", error=repr(exc))
            return None


def _trim(jobs: dict[Any, Future[Any]]) -> None:
    """Drop the oldest entries beyond KEEP_JOBS (dicts keep insertion order)."""
    while len(jobs) > KEEP_JOBS:
        oldest = next(iter(jobs))
        jobs.pop(oldest).cancel()
