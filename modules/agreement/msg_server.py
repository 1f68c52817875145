"""agreement messages: commit a hop's output, then reveal it."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto, sealing
from chain.context import Context
from chain.events import attr
from infera.agreement.v1 import tx_pb2, types_pb2
from infera.inference.v1 import types_pb2 as inference_pb2
from modules.agreement import divergence, events, logic
from modules.agreement.errors import (
    ErrAlreadyCommitted,
    ErrAlreadyRevealed,
    ErrCommitmentMismatch,
    ErrCommitWindowClosed,
    ErrInvalidCommitment,
    ErrInvalidFingerprint,
    ErrInvalidOutput,
    ErrInvalidSalt,
    ErrJobNotAssigned,
    ErrJobNotFound,
    ErrNoCommitment,
    ErrNotAssignedWorker,
    ErrNotContestable,
    ErrRevealWindowClosed,
    ErrRevealWindowNotOpen,
    ErrSealContested,
)
from modules.agreement.keeper import AgreementKeeper

J = inference_pb2
COMMIT_STATES = (J.JOB_STATE_ASSIGNED, J.JOB_STATE_COMMITTING)


def commit_output(
    ctx: Context, keeper: AgreementKeeper, msg: tx_pb2.MsgCommitOutput
) -> tx_pb2.MsgCommitOutputResponse:
    """Record a hop's commitment; when every hop has committed, reveals open at once.

    Fails when: the worker address is malformed; the commitment is not 32 bytes; the job does
    not exist or has no routes yet; the commit window is over (job past COMMITTING, or the block
    is after commit_end_height: a late commit); the worker holds no hop of the job; the hop
    already committed.
    """
    # verify
    worker = crypto.to_bech32(crypto.from_bech32(msg.worker))
    if len(msg.commitment) != logic.HASH_LENGTH:
        raise ErrInvalidCommitment(f"got {len(msg.commitment)} bytes")
    # load
    job = _load_job(ctx, keeper, msg.job_id)
    # check
    if job.state not in COMMIT_STATES or ctx.block.height > job.commit_end_height:
        raise ErrCommitWindowClosed(f"job {job.id} closed commits at {job.commit_end_height}")
    route_index, hop_index = _hop_of(job, worker)
    if keeper.get_commitment(ctx, job.id, route_index, hop_index) is not None:
        raise ErrAlreadyCommitted(f"job {job.id} route {route_index} hop {hop_index}")
    if logic.is_contested(job, route_index, hop_index):
        raise ErrSealContested(f"job {job.id} route {route_index} hop {hop_index}")
    # mutate
    keeper.set_commitment(
        ctx,
        types_pb2.Commitment(
            job_id=job.id,
            route_index=route_index,
            hop_index=hop_index,
            worker=worker,
            commitment=msg.commitment,
            height=ctx.block.height,
        ),
    )
    keeper.workers.record_commit_speed(  # measured speed: placement only (sharding README)
        ctx, crypto.from_bech32(worker), ctx.block.height - job.assign_height,
        job.commit_window_blocks,
    )  # fmt: skip
    job.state = J.JOB_STATE_COMMITTING
    everyone = sum(1 for _ in keeper.iterate_commitments(ctx, job.id)) == sum(
        len(r.hops) for r in job.routes
    )
    if everyone:
        open_reveals(ctx, keeper, job)
    keeper.inference.set_job(ctx, job)
    # events
    ctx.events.emit(
        events.OUTPUT_COMMITTED,
        attr("job_id", job.id, index=True),
        attr("worker", worker, index=True),
        attr("route", route_index),
        attr("hop", hop_index),
    )
    # respond
    return tx_pb2.MsgCommitOutputResponse(route_index=route_index, hop_index=hop_index)


def contest_seal(
    ctx: Context, keeper: AgreementKeeper, msg: tx_pb2.MsgContestSeal
) -> tx_pb2.MsgContestSealResponse:
    """Record that a hop's sealed box does not open (it commits nothing for this job).

    Fails when: the worker address is malformed; the job does not exist or has no routes; it
    is not a sealed job, not sealed yet or already disclosed, or its commit window is over
    (18); the worker holds no hop of the job; the hop committed (6) or contested (19) already.
    """
    # verify
    worker = crypto.to_bech32(crypto.from_bech32(msg.worker))
    # load
    job = _load_job(ctx, keeper, msg.job_id)
    # check
    sealed = job.privacy == J.PRIVACY_MODE_SEALED and job.sealed.sealed_height > 0
    open_commits = job.state in COMMIT_STATES and ctx.block.height <= job.commit_end_height
    if not sealed or job.sealed.disclosed_height or not open_commits:
        raise ErrNotContestable(f"job {job.id}: not a sealed job in its commit window")
    route_index, hop_index = _hop_of(job, worker)
    if keeper.get_commitment(ctx, job.id, route_index, hop_index) is not None:
        raise ErrAlreadyCommitted(f"job {job.id} route {route_index} hop {hop_index}")
    if logic.is_contested(job, route_index, hop_index):
        raise ErrSealContested(f"job {job.id} route {route_index} hop {hop_index}")
    # mutate
    job.sealed.contested.add(route=route_index, hop=hop_index)
    keeper.inference.set_job(ctx, job)
    # events
    ctx.events.emit(
        events.SEAL_CONTESTED,
        attr("job_id", job.id, index=True),
        attr("worker", worker, index=True),
        attr("route", route_index),
        attr("hop", hop_index),
    )
    # respond
    return tx_pb2.MsgContestSealResponse(route_index=route_index, hop_index=hop_index)


def open_reveals(ctx: Context, keeper: AgreementKeeper, job: inference_pb2.Job) -> None:
    """Move ``job`` to REVEALING and schedule its tally at reveal_end (the caller stores it)."""
    job.state = J.JOB_STATE_REVEALING
    keeper.schedule(ctx, job.id, max(job.reveal_end_height, ctx.block.height))
    ctx.events.emit(
        events.REVEALS_OPEN,
        attr("job_id", job.id, index=True),
        attr("model_id", job.model_id, index=True),
        attr("submitter", job.submitter, index=True),
        attr("reveal_end_height", job.reveal_end_height),
    )


def reveal_output(
    ctx: Context, keeper: AgreementKeeper, msg: tx_pb2.MsgRevealOutput
) -> tx_pb2.MsgRevealOutputResponse:
    """Open a hop's commitment; the chain recomputes the output hash and the commitment.

    Fails when: the worker address is malformed; both output_tokens and output_bytes are set;
    the output is longer than max_new_tokens (4 x max_new_tokens bytes); the fingerprint is empty
    or over MAX_FINGERPRINT_BYTES; the salt is not 32 bytes; the job does not exist;
    sealed jobs: a plaintext output is sent, the keyed output hash is not 32 bytes, the token
    count is above max_new_tokens, the sealed output is not exactly its size on the first
    hop (empty on the others), or the fingerprint's late probe seed is not the one of the
    sealed output hash (divergence.is_sealed_late_seed); public jobs: sealed fields are set; reveals are not open yet (commit round running) or
    over (job tallied, or the block is after reveal_end_height); the worker holds no hop of the
    job; the hop never committed; the hop already revealed; the recomputed commitment differs.
    """
    # verify
    worker_address = crypto.from_bech32(msg.worker)
    worker = crypto.to_bech32(worker_address)
    tokens, text = list(msg.output_tokens), bytes(msg.output_bytes)
    if tokens and text:
        raise ErrInvalidOutput("set output_tokens or output_bytes, not both")
    if not 0 < len(msg.shard_fingerprint) <= logic.MAX_FINGERPRINT_BYTES:
        raise ErrInvalidFingerprint(
            f"got {len(msg.shard_fingerprint)} bytes, want 1..{logic.MAX_FINGERPRINT_BYTES}"
        )
    if len(msg.salt) != logic.HASH_LENGTH:
        raise ErrInvalidSalt(f"got {len(msg.salt)} bytes")
    # load
    job = _load_job(ctx, keeper, msg.job_id)
    # check
    _check_reveal_window(ctx, job)
    sealed = job.privacy == J.PRIVACY_MODE_SEALED
    billable = msg.output_token_count if sealed else logic.compute_billable_tokens(tokens, text)
    if billable > job.max_new_tokens:
        raise ErrInvalidOutput(f"output longer than max_new_tokens {job.max_new_tokens}")
    route_index, hop_index = _hop_of(job, worker)
    if sealed:
        _check_sealed_reveal(msg, hop_index)
    elif msg.keyed_output_hash or msg.output_token_count or msg.sealed_output:
        raise ErrInvalidOutput("sealed reveal fields on a public job")
    commitment = keeper.get_commitment(ctx, job.id, route_index, hop_index)
    if commitment is None:
        raise ErrNoCommitment(f"job {job.id} route {route_index} hop {hop_index}")
    if keeper.get_reveal(ctx, job.id, route_index, hop_index) is not None:
        raise ErrAlreadyRevealed(f"job {job.id} route {route_index} hop {hop_index}")
    output_hash = (
        sealing.compute_sealed_output_hash(msg.keyed_output_hash, msg.output_token_count)
        if sealed
        else logic.compute_output_hash(tokens, text)
    )
    if sealed and not divergence.is_sealed_late_seed(msg.shard_fingerprint, job.id, output_hash):
        raise ErrInvalidFingerprint(
            "a sealed job's late probe seed must derive from its sealed hash"
        )
    opened = logic.compute_commitment(output_hash, msg.shard_fingerprint, msg.salt, worker_address)
    if opened != commitment.commitment:
        raise ErrCommitmentMismatch(f"job {job.id} route {route_index} hop {hop_index}")
    # mutate
    keeper.set_reveal(
        ctx,
        types_pb2.Reveal(
            job_id=job.id,
            route_index=route_index,
            hop_index=hop_index,
            worker=worker,
            output_hash=output_hash,
            shard_fingerprint=msg.shard_fingerprint,
            salt=msg.salt,
            height=ctx.block.height,
            sealed_output=msg.sealed_output,
        ),
    )
    if keeper.get_output(ctx, job.id, output_hash) is None:
        output = _output(output_hash, tokens, text)
        output.billable_tokens = billable  # a sealed output is only its hash and its length
        keeper.set_output(ctx, job.id, output)
    if _count(keeper.iterate_reveals(ctx, job.id)) == _count(
        keeper.iterate_commitments(ctx, job.id)
    ):
        keeper.schedule(ctx, job.id, ctx.block.height)  # everyone who committed revealed: tally now
    # events
    ctx.events.emit(
        events.OUTPUT_REVEALED,
        attr("job_id", job.id, index=True),
        attr("worker", worker, index=True),
        attr("route", route_index),
        attr("hop", hop_index),
        attr("output_hash", output_hash.hex()),
    )
    # respond
    return tx_pb2.MsgRevealOutputResponse(output_hash=output_hash)


def _check_sealed_reveal(msg: tx_pb2.MsgRevealOutput, hop_index: int) -> None:
    """A sealed hop reveals the keyed output hash and the token count, never the output; the
    first hop also the output sealed to the submitter, exactly its size (chain/sealing.py)."""
    if msg.output_tokens or msg.output_bytes:
        raise ErrInvalidOutput("a sealed job's reveal carries no plaintext output")
    if len(msg.keyed_output_hash) != logic.HASH_LENGTH:
        raise ErrInvalidOutput(f"keyed output hash of {len(msg.keyed_output_hash)} bytes")
    want = sealing.output_box_bytes(msg.output_token_count) if hop_index == 0 else 0
    if len(msg.sealed_output) != want:
        raise ErrInvalidOutput(f"sealed output of {len(msg.sealed_output)} bytes, want {want}")


def _load_job(ctx: Context, keeper: AgreementKeeper, job_id: int) -> inference_pb2.Job:
    job = keeper.inference.get_job(ctx, job_id)
    if job is None:
        raise ErrJobNotFound(f"job {job_id}")
    if not job.routes:
        raise ErrJobNotAssigned(f"job {job_id} is {J.JobState.Name(job.state)}")
    return job


def _hop_of(job: inference_pb2.Job, worker: str) -> logic.Position:
    position = logic.find_hop(job, worker)
    if position is None:
        raise ErrNotAssignedWorker(f"{worker} on job {job.id}")
    return position


def _check_reveal_window(ctx: Context, job: inference_pb2.Job) -> None:
    if job.state in COMMIT_STATES:
        raise ErrRevealWindowNotOpen(f"job {job.id} takes commits until {job.commit_end_height}")
    if job.state != J.JOB_STATE_REVEALING or ctx.block.height > job.reveal_end_height:
        raise ErrRevealWindowClosed(f"job {job.id} is {J.JobState.Name(job.state)}")


def _output(output_hash: bytes, tokens: list[int], text: bytes) -> types_pb2.Output:
    return types_pb2.Output(
        output_hash=output_hash,
        tokens=tokens,
        text=b"" if tokens else text,
        billable_tokens=logic.compute_billable_tokens(tokens, text),
    )


def _count(items) -> int:
    return sum(1 for _ in items)
