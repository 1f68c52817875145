"""zk pure rules: ids, which jobs take proofs, who may prove, what the prover is paid."""

from __future__ import annotations

import hashlib
import re

import chain.pb  # noqa: F401

from infera.inference.v1 import types_pb2 as J
from infera.zk.v1 import types_pb2 as Z
from modules.zk.encoding import WORD, R

KEY_ID = re.compile(r"[a-z0-9._-]{1,64}")
# A job whose prompt starts with "zk1:" declares the commitment to its input (64 lowercase hex
# digits, a scalar < r); the rest after a second ":" is the payload for the workers (printable
# ASCII). Proofs of that job must carry the commitment as their last public input.
INPUT_PREFIX = b"zk1:"
DECLARED_INPUT = re.compile(rb"zk1:([0-9a-f]{64})(?::[\x20-\x7e]*)?")
# A job takes a proof while its routes are working on it (assigned, not yet settled).
OPEN_STATES = (J.JOB_STATE_ASSIGNED, J.JOB_STATE_COMMITTING, J.JOB_STATE_REVEALING)


def is_valid_key_id(key_id: str) -> bool:
    return KEY_ID.fullmatch(key_id) is not None


def is_open_job(job: J.Job) -> bool:
    return job.state in OPEN_STATES


def is_job_worker(job: J.Job, prover: str) -> bool:
    """True when ``prover`` (canonical bech32) is a hop of one of the job's routes: only the
    assigned workers may prove, so nobody can copy a proof from the mempool and be paid."""
    return any(hop.worker == prover for route in job.routes for hop in route.hops)


def compute_declared_input(prompt: bytes) -> int | None:
    """The input commitment a job's prompt declares; None when it declares none (the prompt
    does not start with "zk1:"); -1 when it starts with "zk1:" but is malformed or the value
    is not a scalar < r (no proof can match it: the submitter's mistake stays the submitter's)."""
    if not prompt.startswith(INPUT_PREFIX):
        return None
    found = DECLARED_INPUT.fullmatch(prompt)
    if found is None:
        return -1
    value = int(found.group(1), 16)
    return value if value < R else -1


def is_bound_to_job(prompt: bytes, public_inputs: bytes) -> bool:
    """True when the proof's last public input (32 bytes BE) is the job's declared input
    commitment, or when the job declares none."""
    declared = compute_declared_input(prompt)
    if declared is None:
        return True
    if declared < 0 or len(public_inputs) < 32:
        return False
    return int.from_bytes(public_inputs[-32:], "big") == declared


def is_valid_weights(mode: int, commitment: bytes, num_public: int) -> bool:
    """A key's weights declaration: BAKED (the circuit's constants pin the model) carries no
    commitment; PRIVATE carries the 32-byte big-endian commitment, a scalar < r, and its circuit
    has at least 2 public inputs (the commitment at num_public - 2, the input commitment last)."""
    if mode == Z.WEIGHTS_MODE_BAKED:
        return commitment == b""
    if mode != Z.WEIGHTS_MODE_PRIVATE:
        return False
    return len(commitment) == WORD and int.from_bytes(commitment, "big") < R and num_public >= 2


def is_weights_bound(key: Z.VerifyingKey, public_inputs: bytes) -> bool:
    """True when a BAKED key, or when the proof's public input num_public - 2 equals the
    PRIVATE key's registered weights commitment (a proof made with other private weights under
    the same circuit shows another commitment). ``public_inputs`` is num_public words (checked
    before); a string of another length is not bound."""
    if key.weights == Z.WEIGHTS_MODE_BAKED:
        return True
    start = (key.num_public - 2) * WORD
    if key.weights != Z.WEIGHTS_MODE_PRIVATE or start < 0 or len(key.weights_commitment) != WORD:
        return False
    if len(public_inputs) != key.num_public * WORD:
        return False
    return public_inputs[start : start + WORD] == key.weights_commitment


def compute_prover_pay(job: J.Job) -> int:
    """One route's share of the fee cap, floor(max_fee / redundancy), at most the escrow left:
    one proof does the work of a route; the rest goes back to the submitter."""
    return min(int(job.max_fee) // max(job.redundancy, 1), int(job.escrow))


def compute_item_digest(key: bytes, proof: bytes, public_inputs: bytes) -> bytes:
    """sha256 binding one batch item (key, proof, inputs); feeds the batch coefficients."""
    framed = b"".join(len(part).to_bytes(4, "big") + part for part in (key, proof, public_inputs))
    return hashlib.sha256(framed).digest()


def compute_batch_seed(height: int, block_hash: bytes) -> bytes:
    return hashlib.sha256(b"infera/zk/seed" + height.to_bytes(8, "big") + block_hash).digest()
