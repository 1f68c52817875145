"""Per-job commit state on disk, so that a restarted worker never commits twice, never loses a
commitment it made, and can still reveal it.

One JSON file per job, ``STATE_DIR/jobs/<job id>.json``, written atomically (temporary file,
fsync, rename, fsync of the folder) before every step that leaves a trace on chain: the salt and
commitment exist on disk before the commit is broadcast, the broadcast is recorded before the
reveal may go out. ``STATE_DIR/height`` holds the last block height whose events were read.

Commitment (modules/agreement README): ``sha256(output_hash ‖ sha256(shard_fingerprint) ‖ salt
‖ worker address)``, with ``output_hash = sha256(b"infera.output.v1\\x00" ‖ 0x01 ‖ each token as
4 big-endian bytes)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from chain import sealing

OUTPUT_DOMAIN = b"infera.output.v1\x00"
KIND_TOKENS = b"\x01"

# Phases of a job on this worker, in order. A record only moves forward.
ASSIGNED = "assigned"  # the chain named this worker on a route; output not known yet
OUTPUT = "output"  # output, fingerprint, salt and commitment are on disk; commit not sent
COMMIT_SENT = "commit_sent"  # a commit transaction was broadcast (commit_txhash)
COMMITTED = "committed"  # the chain holds this hop's commitment
REVEAL_SENT = "reveal_sent"  # a reveal transaction was broadcast (reveal_txhash)
REVEALED = "revealed"  # the chain holds this hop's reveal: nothing left to do
ABANDONED = "abandoned"  # the window closed or the route failed: nothing will be sent
PHASES = (ASSIGNED, OUTPUT, COMMIT_SENT, COMMITTED, REVEAL_SENT, REVEALED, ABANDONED)
FINAL = (REVEALED, ABANDONED)


def compute_output_hash(tokens: Sequence[int]) -> bytes:
    """The chain's canonical output hash of a token output."""
    payload = b"".join(int(t).to_bytes(4, "big") for t in tokens)
    return hashlib.sha256(OUTPUT_DOMAIN + KIND_TOKENS + payload).digest()


def compute_chain_output_hash(tokens: Sequence[int], output_key: bytes | None = None) -> bytes:
    """The output hash the chain compares for a route's tokens, and the one the late probe seed
    and the late frame signatures derive from: `compute_output_hash` for a public job; for a
    sealed job (`output_key`, the job's output key) the sealed hash of chain/sealing.py,
    ``sha256(domain ‖ u32 count ‖ HMAC(output_key, canonical output))``, which nobody without
    the key can compute from a guessed output (docs/private-jobs.md)."""
    if output_key is None:
        return compute_output_hash(tokens)
    keyed = sealing.compute_keyed_output_hash(output_key, tokens)
    return sealing.compute_sealed_output_hash(keyed, len(tokens))


def compute_commitment(
    tokens: Sequence[int], fingerprint: bytes, salt: bytes, worker: bytes
) -> bytes:
    """``sha256(output_hash ‖ sha256(fingerprint) ‖ salt ‖ worker)``; worker is 20 raw bytes."""
    fingerprint_hash = hashlib.sha256(fingerprint).digest()
    return hashlib.sha256(compute_output_hash(tokens) + fingerprint_hash + salt + worker).digest()


@dataclass(frozen=True)
class JobRecord:
    """What this worker knows and did about one job."""

    job_id: int
    route_index: int
    hop_index: int
    phase: str = ASSIGNED
    tokens: tuple[int, ...] = ()  # the route's output (phase >= OUTPUT)
    fingerprint: str = ""  # hex of the shard fingerprint
    salt: str = ""  # hex, 32 random bytes, drawn once
    commitment: str = ""  # hex
    commit_txhash: str = ""
    commit_height: int = 0  # chain height when the commit was broadcast
    reveal_txhash: str = ""
    note: str = ""  # why a record was abandoned
    history: list[str] = field(default_factory=list)  # phases passed, for operators

    def advance(self, phase: str, **changes: object) -> JobRecord:
        if PHASES.index(phase) < PHASES.index(self.phase) and phase != ABANDONED:
            raise ValueError(f"job {self.job_id}: cannot go back from {self.phase} to {phase}")
        return replace(self, phase=phase, history=[*self.history, phase], **changes)  # type: ignore[arg-type]

    def with_output(self, tokens: Sequence[int], fingerprint: bytes, worker: bytes) -> JobRecord:
        """Fix the output and draw the salt: the commitment is decided from here on."""
        salt = secrets.token_bytes(32)
        commitment = compute_commitment(tokens, fingerprint, salt, worker)
        return self.advance(
            OUTPUT,
            tokens=tuple(int(t) for t in tokens),
            fingerprint=fingerprint.hex(),
            salt=salt.hex(),
            commitment=commitment.hex(),
        )


class CommitStore:
    """The records of one worker, under `state_dir`."""

    def __init__(self, state_dir: Path):
        self.root = Path(state_dir)
        self.jobs_dir = self.root / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)

    def get(self, job_id: int) -> JobRecord | None:
        path = self._path(job_id)
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        data["tokens"] = tuple(data["tokens"])
        return JobRecord(**data)

    def put(self, record: JobRecord) -> None:
        _write_atomic(self._path(record.job_id), json.dumps(asdict(record), indent=1) + "\n")

    def open_records(self) -> Iterator[JobRecord]:
        """Every record still waiting for a commit or a reveal, oldest job first."""
        for path in sorted(self.jobs_dir.glob("*.json"), key=lambda p: int(p.stem)):
            record = self.get(int(path.stem))
            if record is not None and record.phase not in FINAL:
                yield record

    def last_height(self) -> int:
        path = self.root / "height"
        return int(path.read_text()) if path.is_file() else 0

    def set_last_height(self, height: int) -> None:
        _write_atomic(self.root / "height", f"{height}\n")

    def _path(self, job_id: int) -> Path:
        return self.jobs_dir / f"{int(job_id)}.json"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
