"""The node-local inbox where a validator's verifier sidecar leaves its verdicts.

The sidecar (``infera verifier run``) re-checks disputed and audited jobs and writes one file per
job, ``<inbox>/<job id>.verdict``, holding a serialized ``infera.agreement.v1.Verdict``; it writes
to a temporary name and renames, so a reader never sees half a file. ExtendVote reads the files
of the jobs still open. This is node-local I/O feeding a vote extension, never consensus state:
what other validators accept is decided by the signed extensions themselves.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

import chain.pb  # noqa: F401

import structlog
from google.protobuf.message import DecodeError

from infera.agreement.v1 import types_pb2

log = structlog.get_logger("chain.verdicts")

SUFFIX = ".verdict"
MAX_FILE_BYTES = 64 * 1024


class VerdictInbox:
    """Reads and writes verdict files in one folder."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = pathlib.Path(folder)

    def __call__(self, job_ids: Sequence[int]) -> list[types_pb2.Verdict]:
        """The verdicts on file for ``job_ids`` (unreadable files are skipped and logged)."""
        verdicts = []
        for job_id in job_ids:
            path = self.folder / f"{job_id}{SUFFIX}"
            try:
                data = path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else b""
                verdict = types_pb2.Verdict.FromString(data)
            except FileNotFoundError:
                continue
            except (OSError, DecodeError) as exc:
                log.warning("unreadable verdict file", path=str(path), error=str(exc))
                continue
            if verdict.job_id == job_id:
                verdicts.append(verdict)
        return verdicts

    def write(self, verdict: types_pb2.Verdict) -> pathlib.Path:
        """Atomically store ``verdict`` (the sidecar's side)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{verdict.job_id}{SUFFIX}"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(verdict.SerializeToString(deterministic=True))
        os.replace(tmp, path)
        return path
