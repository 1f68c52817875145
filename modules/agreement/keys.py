"""Store keys of the agreement module. Job ids and heights are 8-byte big-endian integers,
route and hop indexes 4-byte big-endian, so keys sort numerically."""

from __future__ import annotations

PARAMS = b"agreement/params"  # -> infera.agreement.v1.Params
COMMITMENT = b"agreement/commit/"  # + job id + route + hop -> Commitment
REVEAL = b"agreement/reveal/"  # + job id + route + hop -> Reveal
OUTPUT = b"agreement/output/"  # + job id + output hash (32) -> Output
DISPUTE = b"agreement/dispute/"  # + job id -> Dispute
VOTE = b"agreement/vote/"  # + job id + validator address (20) -> DisputeVote
SETTLEMENT = b"agreement/settlement/"  # + job id -> Settlement
DUE = b"agreement/due/"  # + height + job id -> 0x01: the job's round advances at that block's end
DUE_BY_JOB = b"agreement/due_by_job/"  # + job id -> height (8 bytes) of its DUE entry
AUDIT = b"agreement/audit/"  # + job id -> Audit (finalized jobs drawn for re-checking)
# Open verifications (disputes and audits waiting for a verdict), indexed so that ExtendVote and
# the end-block read only what is open, never every dispute or audit ever created:
VERIFICATION = b"agreement/verification/"  # + job id -> Verification (open ones only)
# + turn (4) + (2^64 - 1 - fee, capped) + queued height + job id -> 0x01 (waiting): every
# submitter's n-th before anyone's (n+1)-th, then the larger verification fee, then the older
VERIFY_QUEUE = b"agreement/verify_queue/"
VERIFY_ACTIVE = b"agreement/verify_active/"  # + job id -> 0x01 (holding a slot; <= slots)
OPEN_COUNT = b"agreement/open_count/"  # + submitter address (20) -> u32 open verifications

# Module account holding the payment of audited jobs until the verdict (see audits.py).
AUDIT_HOLD_ACCOUNT = "agreement_audit_hold"

INDEX_VALUE = b"\x01"


def u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


def hop_key(prefix: bytes, job_id: int, route_index: int, hop_index: int) -> bytes:
    return prefix + u64(job_id) + u32(route_index) + u32(hop_index)


def job_prefix(prefix: bytes, job_id: int) -> bytes:
    return prefix + u64(job_id)


def due_key(height: int, job_id: int) -> bytes:
    return DUE + u64(height) + u64(job_id)


MAX_U64 = 2**64 - 1


def queue_key(turn: int, fee: int, queued_height: int, job_id: int) -> bytes:
    """Fair-queue order: turn, then fee (larger first), then age, then id."""
    return (
        VERIFY_QUEUE
        + u32(turn)
        + u64(MAX_U64 - min(fee, MAX_U64))
        + u64(queued_height)
        + u64(job_id)
    )
