"""Store keys of the inference module. Job ids and heights are 8-byte big-endian integers, so
keys sort numerically; index values are the single byte 0x01 (the key says everything)."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.keys import length_prefixed
from infera.inference.v1 import types_pb2

JOB = b"inference/job/"  # + job id -> infera.inference.v1.Job
NEXT_JOB_ID = b"inference/next_job_id"  # -> decimal string of the id the next job gets
PARAMS = b"inference/params"  # -> infera.inference.v1.Params
BY_SUBMITTER = b"inference/by_submitter/"  # + submitter address (20) + job id -> 0x01
BY_MODEL = b"inference/by_model/"  # + len(model id) (1 byte) + model id + job id -> 0x01
BY_WORKER = b"inference/by_worker/"  # + worker address (20) + job id -> 0x01 (once assigned)
BY_STATE = b"inference/by_state/"  # + state (1 byte) + job id -> 0x01 (SUBMITTED = assign queue)
BY_HEIGHT = b"inference/by_height/"  # + submit height + job id -> 0x01
DEADLINE = b"inference/deadline/"  # + deadline height + job id -> 0x01 (non-terminal jobs only)
SEALS = b"inference/seals/"  # + job id -> infera.inference.v1.JobSeals (sealed jobs, once sealed)
SEAL_DUE = b"inference/seal_due/"  # + seal end height + job id -> 0x01 (assigned, not sealed yet)

ESCROW_ACCOUNT = "inference_escrow"  # module account holding every open job's escrow
INDEX_VALUE = b"\x01"
MAX_MODEL_ID_BYTES = 64  # model ids are [a-z0-9._-]{1,64} (models module)

_TERMINAL = (
    types_pb2.JOB_STATE_FINALIZED,
    types_pb2.JOB_STATE_EXPIRED,
    types_pb2.JOB_STATE_CANCELLED,
)


def u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def job_key(job_id: int) -> bytes:
    return JOB + u64(job_id)


def seals_key(job_id: int) -> bytes:
    return SEALS + u64(job_id)


def model_prefix(model_id: str) -> bytes:
    """Length-prefixed so that model "a" never matches the keys of model "ab". Raises
    ``ErrInvalidRequest`` for an id over 64 bytes (model ids are [a-z0-9._-]{1,64})."""
    return BY_MODEL + length_prefixed(model_id, limit=MAX_MODEL_ID_BYTES, what="model id")


def job_index_keys(job: types_pb2.Job) -> set[bytes]:
    """Every index and queue key ``job`` must have in state (derived, so never out of sync)."""
    job_id = u64(job.id)
    index = {
        BY_SUBMITTER + crypto.from_bech32(job.submitter) + job_id,
        model_prefix(job.model_id) + job_id,
        BY_STATE + bytes([job.state]) + job_id,
        BY_HEIGHT + u64(job.submit_height) + job_id,
    }
    for route in job.routes:
        for hop in route.hops:
            index.add(BY_WORKER + crypto.from_bech32(hop.worker) + job_id)
    if job.state not in _TERMINAL:
        index.add(DEADLINE + u64(job.deadline_height) + job_id)
    if is_awaiting_seal(job):
        index.add(SEAL_DUE + u64(job.sealed.seal_end_height) + job_id)
    return index


def is_awaiting_seal(job: types_pb2.Job) -> bool:
    """A sealed job with routes whose submitter has not sent MsgSealPrompt yet."""
    return (
        job.privacy == types_pb2.PRIVACY_MODE_SEALED
        and job.state == types_pb2.JOB_STATE_ASSIGNED
        and job.sealed.sealed_height == 0
    )
