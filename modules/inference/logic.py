"""Pure inference rules: pricing, seeds, decoding checks and the job state machine."""

from __future__ import annotations

import hashlib

import chain.pb  # noqa: F401

from chain import sealing
from chain.fixed import Decimal
from infera.inference.v1 import types_pb2
from modules.inference.errors import ErrInvalidDecoding, ErrInvalidSealedJob, ErrInvalidSeals

BYTES_PER_TOKEN_ESTIMATE = 4  # prompt tokens are priced as ceil(prompt bytes / 4)

S = types_pb2  # short alias for the state names below
TERMINAL_STATES = frozenset({S.JOB_STATE_FINALIZED, S.JOB_STATE_EXPIRED, S.JOB_STATE_CANCELLED})
ROUND_STATES = frozenset({S.JOB_STATE_ASSIGNED, S.JOB_STATE_COMMITTING, S.JOB_STATE_REVEALING})
# Every transition the chain may make; anything else is a bug (the keeper refuses it).
TRANSITIONS: dict[int, frozenset[int]] = {
    S.JOB_STATE_SUBMITTED: frozenset(
        {S.JOB_STATE_ASSIGNED, S.JOB_STATE_EXPIRED, S.JOB_STATE_CANCELLED}
    ),
    S.JOB_STATE_ASSIGNED: frozenset(
        {S.JOB_STATE_COMMITTING, S.JOB_STATE_REVEALING}
        | {S.JOB_STATE_FINALIZED, S.JOB_STATE_DISPUTED, S.JOB_STATE_EXPIRED}
    ),
    S.JOB_STATE_COMMITTING: frozenset(
        {S.JOB_STATE_REVEALING, S.JOB_STATE_FINALIZED, S.JOB_STATE_DISPUTED, S.JOB_STATE_EXPIRED}
    ),
    S.JOB_STATE_REVEALING: frozenset(
        {S.JOB_STATE_FINALIZED, S.JOB_STATE_DISPUTED, S.JOB_STATE_EXPIRED}
    ),
    S.JOB_STATE_DISPUTED: frozenset({S.JOB_STATE_FINALIZED, S.JOB_STATE_EXPIRED}),
}


def is_terminal(state: int) -> bool:
    return state in TERMINAL_STATES


def is_valid_transition(old: int, new: int) -> bool:
    return old == new or new in TRANSITIONS.get(old, frozenset())


def compute_prompt_tokens_estimate(prompt_bytes: int) -> int:
    """Tokens a prompt is priced as: ceil(bytes / 4), about 4 bytes per BPE token of English."""
    return -(-prompt_bytes // BYTES_PER_TOKEN_ESTIMATE)


def compute_required_fee(
    price_per_token: str, prompt_tokens: int, max_new_tokens: int, redundancy: int
) -> int:
    """The least max fee of a job: ceil(price x (prompt estimate + max new tokens) x r)."""
    return Decimal.parse(price_per_token).mul_int_ceil(
        (prompt_tokens + max_new_tokens) * redundancy
    )


def compute_seed(block_hash: bytes, job_id: int) -> bytes:
    """sha256(hash of the assigning block || job id as 8 big-endian bytes): chain data only."""
    return hashlib.sha256(block_hash + job_id.to_bytes(8, "big")).digest()


def check_decoding(decoding: types_pb2.Decoding, params: types_pb2.Params) -> None:
    """Greedy takes no knobs; sampling needs 1..max temperature and top-k up to the max."""
    if decoding.mode == S.DECODING_MODE_GREEDY:
        if decoding.temperature_milli or decoding.top_k:
            raise ErrInvalidDecoding("greedy decoding takes no temperature or top-k")
        return
    if decoding.mode != S.DECODING_MODE_SAMPLING:
        raise ErrInvalidDecoding(f"unknown decoding mode {decoding.mode}")
    if not 1 <= decoding.temperature_milli <= params.max_temperature_milli:
        raise ErrInvalidDecoding(
            f"temperature_milli {decoding.temperature_milli} not in 1..{params.max_temperature_milli}"
        )
    if decoding.top_k > params.max_top_k:
        raise ErrInvalidDecoding(f"top_k {decoding.top_k} above {params.max_top_k}")


def is_sealed(job: types_pb2.Job) -> bool:
    return job.privacy == S.PRIVACY_MODE_SEALED


def compute_prompt_bytes(msg) -> int:
    """The prompt size a job is priced and bounded by: the plain prompt's, or a sealed job's
    declared prompt room."""
    return msg.sealed_prompt_bytes if msg.privacy == S.PRIVACY_MODE_SEALED else len(msg.prompt)


def check_privacy_fields(msg) -> None:
    """A public job sets none of the sealed fields; a sealed one sends no prompt, a 32-byte
    prompt commitment and a 32-byte reply key (sizes are checked with the prompt's)."""
    sealed_fields = bool(msg.prompt_commitment or msg.sealed_prompt_bytes or msg.reply_pubkey)
    if msg.privacy == S.PRIVACY_MODE_PUBLIC:
        if sealed_fields:
            raise ErrInvalidSealedJob("a public job takes no sealed fields")
        return
    if msg.privacy != S.PRIVACY_MODE_SEALED:
        raise ErrInvalidSealedJob(f"unknown privacy mode {msg.privacy}")
    if msg.prompt:
        raise ErrInvalidSealedJob("a sealed job sends no plaintext prompt")
    if len(msg.prompt_commitment) != sealing.KEY_BYTES:
        raise ErrInvalidSealedJob(f"prompt commitment of {len(msg.prompt_commitment)} bytes")
    if len(msg.reply_pubkey) != sealing.KEY_BYTES:
        raise ErrInvalidSealedJob(f"reply key of {len(msg.reply_pubkey)} bytes")


def check_seals(job: types_pb2.Job, routes) -> None:
    """One box per hop of every route, each exactly its size: the first hop's holds the
    prompt room, every later hop's only the output key (chain/sealing.py)."""
    if len(routes) != len(job.routes):
        raise ErrInvalidSeals(f"{len(routes)} routes of boxes for {len(job.routes)} routes")
    first = sealing.prompt_box_bytes(job.sealed.prompt_bytes)
    for index, (sealed_route, route) in enumerate(zip(routes, job.routes, strict=True)):
        if len(sealed_route.boxes) != len(route.hops):
            raise ErrInvalidSeals(
                f"route {index}: {len(sealed_route.boxes)} boxes for {len(route.hops)} hops"
            )
        if sealed_route.recipients:
            raise ErrInvalidSeals(f"route {index}: recipients are filled by the chain")
        for hop, box in enumerate(sealed_route.boxes):
            want = first if hop == 0 else sealing.KEY_BOX_BYTES
            if len(box) != want:
                raise ErrInvalidSeals(f"route {index} hop {hop}: {len(box)} bytes, want {want}")


REBUILD_GAS_FLAT = 10_000  # per contested box rebuilt on disclosure (one X25519, HKDF, AEAD)
REBUILD_GAS_PER_BYTE = 30  # per byte of box rebuilt


def compute_false_contests(
    job: types_pb2.Job, seals: types_pb2.JobSeals, secrets: sealing.JobSecrets, chain_id: str
) -> list[tuple[int, int]]:
    """The contested hops whose boxes the disclosed job key rebuilds byte for byte from the
    job's payloads and the recipients' keys at sealing: their boxes did open."""
    out = []
    for contest in job.sealed.contested:
        route = seals.routes[contest.route]
        first = contest.hop == 0
        payload = (
            sealing.encode_prompt_payload(secrets.output_key, job.prompt, job.sealed.prompt_bytes)
            if first
            else sealing.encode_key_payload(secrets.output_key)
        )
        purpose = sealing.PURPOSE_PROMPT if first else sealing.PURPOSE_KEY
        place = sealing.Place(chain_id, job.id, contest.route, contest.hop, purpose)
        box = route.boxes[contest.hop]
        recipient = route.recipients[contest.hop] if contest.hop < len(route.recipients) else b""
        if sealing.is_rebuilt_box(secrets, recipient, payload, place, box):
            out.append((contest.route, contest.hop))
    return out
