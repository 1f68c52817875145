"""inference messages: submit a job, cancel it before assignment."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto, sealing
from chain.context import Context
from chain.events import attr
from chain.tx import parse_coins
from infera.inference.v1 import tx_pb2, types_pb2
from modules.inference import events, keys, logic
from modules.inference.errors import (
    ErrEmptyPrompt,
    ErrFeeBelowPrice,
    ErrInvalidDeadline,
    ErrInvalidDisclosure,
    ErrInvalidMaxNewTokens,
    ErrJobNotCancellable,
    ErrJobNotFound,
    ErrModelRetired,
    ErrNotDisclosable,
    ErrNotSealable,
    ErrNotSubmitter,
    ErrPromptTooLarge,
    ErrRedundancyTooHigh,
    ErrRedundancyTooLow,
    ErrSealedJobsDisabled,
    ErrUnknownModel,
    ErrWrongFeeDenom,
)
from modules.inference.keeper import InferenceKeeper, job_attributes


def submit_job(
    ctx: Context, keeper: InferenceKeeper, msg: tx_pb2.MsgSubmitJob
) -> tx_pb2.MsgSubmitJobResponse:
    """Escrow the max fee and queue a job; routes are assigned at the end of this block.

    Fails when: the submitter address is malformed; the prompt is empty or larger than
    max_prompt_bytes; max_new_tokens is 0 or above the limit; the decoding is invalid; the
    redundancy is above max_redundancy; the deadline is outside [min, max] deadline blocks or
    not longer than the job's commit and reveal rounds (0 asks for the rounds plus
    min_deadline_blocks); the max fee is malformed or not in the fee denom; the model is
    unknown or retired; the redundancy is below the model's min_redundancy;
    the model requires TEEs and the job is not sealed (tee 23); the max fee is below the
    price ("fee below price"); the precision class is not one of the
    model's (sharding's ErrInvalidPrecision); the model's coverage cannot give r disjoint routes
    of one class now (sharding's ErrInsufficientCoverage, or ErrTooManyCandidates); the tx's
    route selections together exceed sharding's per-tx search budget (ErrTxSearchBudgetExceeded,
    sharding 9: several MsgSubmitJob in one tx share it); the submitter cannot pay.
    """
    # verify
    submitter = crypto.from_bech32(msg.submitter)
    (max_fee,) = parse_coins([msg.max_fee])
    # load
    params = keeper.get_params(ctx)
    model = keeper.models.get_model(ctx, msg.model_id)
    job_id = keeper.get_next_job_id(ctx)
    windows = keeper.hooks.round_windows(ctx, msg.max_new_tokens)
    # check
    logic.check_privacy_fields(msg)
    seal_window = 0
    if msg.privacy == types_pb2.PRIVACY_MODE_SEALED:
        if params.seal_window_blocks == 0:
            raise ErrSealedJobsDisabled("seal_window_blocks is 0")
        seal_window = params.seal_window_blocks  # the rounds open only once sealed
    deadline_blocks = _check_request(msg, params, rounds_blocks=sum(windows) + seal_window)
    if max_fee.denom != params.fee_denom:
        raise ErrWrongFeeDenom(f"got {max_fee.denom}, expected {params.fee_denom}")
    if model is None:
        raise ErrUnknownModel(f"model {msg.model_id!r}")
    if model.retired:
        raise ErrModelRetired(f"model {msg.model_id!r}")
    if msg.redundancy < model.min_redundancy:
        raise ErrRedundancyTooLow(f"{msg.redundancy} < {model.min_redundancy}")
    if keeper.policy is not None:  # e.g. tee: a TEE-required model takes only sealed jobs
        keeper.policy.check_submit(ctx, msg.model_id, msg.privacy)
    prompt_tokens = logic.compute_prompt_tokens_estimate(logic.compute_prompt_bytes(msg))
    required = logic.compute_required_fee(
        model.price_per_token, prompt_tokens, msg.max_new_tokens, msg.redundancy
    )
    if max_fee.amount < required:
        raise ErrFeeBelowPrice(f"max fee {max_fee.amount} < price {required}{params.fee_denom}")
    # Coverage now, with the seed assignment uses when it happens in this block (it does unless
    # the per-block cap defers it); the end-block re-checks and refunds when it has thinned.
    keeper.sharding.select_job_routes(
        ctx,
        msg.model_id,
        msg.redundancy,
        logic.compute_seed(ctx.block.hash, job_id),
        precision=msg.precision,
    )
    # mutate
    keeper.bank.send_coins_to_module(ctx, submitter, keys.ESCROW_ACCOUNT, [max_fee])
    job = _new_job(ctx, msg, job_id, model, prompt_tokens, max_fee.amount)
    job.deadline_height = ctx.block.height + deadline_blocks
    job.commit_window_blocks, job.reveal_window_blocks = windows
    keeper.set_job(ctx, job)
    keeper.set_next_job_id(ctx, job_id + 1)
    # events
    ctx.events.emit(
        events.JOB_SUBMITTED,
        *job_attributes(job),
        attr("max_fee", f"{max_fee.amount}{max_fee.denom}"),
        attr("redundancy", job.redundancy),
        attr("deadline_height", job.deadline_height),
        attr("commit_window_blocks", job.commit_window_blocks),
        attr("reveal_window_blocks", job.reveal_window_blocks),
    )
    # respond
    return tx_pb2.MsgSubmitJobResponse(job_id=job_id)


def _check_request(
    msg: tx_pb2.MsgSubmitJob, params: types_pb2.Params, *, rounds_blocks: int
) -> int:
    """The stateless limits of a job request (params and the job's rounds); returns the
    deadline in blocks (``deadline_blocks``, or for 0 the rounds plus min_deadline_blocks)."""
    prompt_bytes = logic.compute_prompt_bytes(msg)
    if prompt_bytes == 0:
        raise ErrEmptyPrompt()
    if prompt_bytes > params.max_prompt_bytes:
        raise ErrPromptTooLarge(f"{prompt_bytes} bytes > {params.max_prompt_bytes}")
    if not 1 <= msg.max_new_tokens <= params.max_new_tokens:
        raise ErrInvalidMaxNewTokens(f"{msg.max_new_tokens} not in 1..{params.max_new_tokens}")
    logic.check_decoding(msg.decoding, params)
    if msg.redundancy > params.max_redundancy:
        raise ErrRedundancyTooHigh(f"{msg.redundancy} > {params.max_redundancy}")
    low = max(params.min_deadline_blocks, rounds_blocks + 1)
    deadline = msg.deadline_blocks or rounds_blocks + params.min_deadline_blocks
    if not low <= deadline <= params.max_deadline_blocks:
        raise ErrInvalidDeadline(
            f"{deadline} blocks not in {low}..{params.max_deadline_blocks} (the commit and "
            f"reveal rounds of {msg.max_new_tokens} new tokens take {rounds_blocks})"
        )
    return deadline


def _new_job(
    ctx: Context, msg: tx_pb2.MsgSubmitJob, job_id: int, model, prompt_tokens: int, fee: int
) -> types_pb2.Job:
    return types_pb2.Job(
        id=job_id,
        submitter=crypto.to_bech32(crypto.from_bech32(msg.submitter)),  # canonical form
        model_id=msg.model_id,
        prompt=msg.prompt,
        decoding=msg.decoding,
        max_new_tokens=msg.max_new_tokens,
        redundancy=msg.redundancy,
        max_fee=str(fee),  # canonical: a submitted "000100" is stored as "100"
        escrow=str(fee),
        state=types_pb2.JOB_STATE_SUBMITTED,
        submit_height=ctx.block.height,
        price_per_token=model.price_per_token,
        num_layers=model.num_layers,
        prompt_tokens_estimate=prompt_tokens,
        refunded="0",
        requested_precision=msg.precision,
        privacy=msg.privacy,
        sealed=types_pb2.SealedJob(
            prompt_commitment=msg.prompt_commitment,
            prompt_bytes=msg.sealed_prompt_bytes,
            reply_pubkey=msg.reply_pubkey,
        )
        if msg.privacy == types_pb2.PRIVACY_MODE_SEALED
        else None,
    )


def cancel_job(
    ctx: Context, keeper: InferenceKeeper, msg: tx_pb2.MsgCancelJob
) -> tx_pb2.MsgCancelJobResponse:
    """Refund a job that is still waiting for assignment.

    Fails when: the address is malformed; the job does not exist; the signer is not the job's
    submitter; the job is no longer SUBMITTED (assigned, or already terminal).
    """
    # verify
    signer = crypto.from_bech32(msg.submitter)
    # load
    job = keeper.get_job(ctx, msg.job_id)
    # check
    if job is None:
        raise ErrJobNotFound(f"job {msg.job_id}")
    if crypto.from_bech32(job.submitter) != signer:
        raise ErrNotSubmitter(f"job {job.id} belongs to {job.submitter}")
    if job.state != types_pb2.JOB_STATE_SUBMITTED:
        raise ErrJobNotCancellable(f"job {job.id} is {types_pb2.JobState.Name(job.state)}")
    # mutate
    refunded = keeper.refund_escrow(ctx, job)
    job.state = types_pb2.JOB_STATE_CANCELLED
    job.reason = "cancelled by the submitter"
    job.final_height = ctx.block.height
    keeper.set_job(ctx, job)
    # events
    ctx.events.emit(events.JOB_CANCELLED, *job_attributes(job), attr("refunded", refunded))
    # respond
    return tx_pb2.MsgCancelJobResponse(refunded=str(refunded))


def seal_prompt(
    ctx: Context, keeper: InferenceKeeper, msg: tx_pb2.MsgSealPrompt
) -> tx_pb2.MsgSealPromptResponse:
    """Store a sealed job's boxes (one per hop of every route) and open its rounds now.

    Fails when: the address is malformed; the job does not exist; the signer is not its
    submitter; the job is not sealed, not ASSIGNED, already sealed, or its seal window is over
    (block after seal_end_height); the boxes do not match the routes (count per route and hop,
    exact sizes); on a TEE-required model, a hop's registered key is not the one its
    attestation binds (tee 24) or it has no attestation valid now for the requirement (tee
    25). Gas: the boxes are written once (per-byte write gas), never rewritten with the job.
    """
    # verify
    signer = crypto.from_bech32(msg.submitter)
    # load
    job = keeper.get_job(ctx, msg.job_id)
    # check
    if job is None:
        raise ErrJobNotFound(f"job {msg.job_id}")
    if crypto.from_bech32(job.submitter) != signer:
        raise ErrNotSubmitter(f"job {job.id} belongs to {job.submitter}")
    if not keys.is_awaiting_seal(job) or ctx.block.height > job.sealed.seal_end_height:
        raise ErrNotSealable(
            f"job {job.id} is {types_pb2.JobState.Name(job.state)}, "
            f"{types_pb2.PrivacyMode.Name(job.privacy)}, sealed at {job.sealed.sealed_height}, "
            f"seal window to {job.sealed.seal_end_height}"
        )
    logic.check_seals(job, msg.routes)
    if keeper.policy is not None:  # e.g. tee: every hop still attested, bound to its key
        keeper.policy.check_seal(ctx, job)
    # mutate
    seals = types_pb2.JobSeals(job_id=job.id, routes=msg.routes)
    for sealed_route, route in zip(seals.routes, job.routes, strict=True):
        for hop in route.hops:  # the keys the boxes are for: a disclosure rebuilds with them
            worker = keeper.workers.get_worker(ctx, crypto.from_bech32(hop.worker))
            sealed_route.recipients.append(worker.encryption_pubkey if worker else b"")
    keeper.set_seals(ctx, seals)
    job.sealed.sealed_height = ctx.block.height
    job.commit_end_height, job.reveal_end_height = keeper.hooks.open_rounds(ctx, job)
    keeper.set_job(ctx, job)
    # events
    workers = [attr("worker", h.worker, index=True) for r in job.routes for h in r.hops]
    ctx.events.emit(
        events.JOB_SEALED,
        *job_attributes(job),
        *workers,
        attr("commit_end_height", job.commit_end_height),
        attr("reveal_end_height", job.reveal_end_height),
    )
    # respond
    return tx_pb2.MsgSealPromptResponse(
        commit_end_height=job.commit_end_height, reveal_end_height=job.reveal_end_height
    )


def disclose_sealed_job(
    ctx: Context, keeper: InferenceKeeper, msg: tx_pb2.MsgDiscloseSealedJob
) -> tx_pb2.MsgDiscloseSealedJobResponse:
    """Make a sealed job public: check the job key and prompt against its commitments, store
    the prompt on the job, open the routes' sealed outputs on chain (agreement hook).

    Fails when: the address is malformed; the job key is not 32 bytes or the prompt is longer
    than the job's prompt room (20); the job does not exist; the signer is not its submitter;
    the job is not sealed, was never sealed (no boxes) or is already disclosed (21); the key
    does not give the job's reply key or the prompt's HMAC is not the prompt commitment (20).
    Every hop that contested its box (agreement's MsgContestSeal) and whose box the key
    rebuilds byte for byte is slashed as withholding (its box did open); gas per box rebuilt.
    """
    # verify
    signer = crypto.from_bech32(msg.submitter)
    if len(msg.job_key) != sealing.KEY_BYTES:
        raise ErrInvalidDisclosure(f"job key of {len(msg.job_key)} bytes")
    # load
    job = keeper.get_job(ctx, msg.job_id)
    # check
    if job is None:
        raise ErrJobNotFound(f"job {msg.job_id}")
    if crypto.from_bech32(job.submitter) != signer:
        raise ErrNotSubmitter(f"job {job.id} belongs to {job.submitter}")
    if not logic.is_sealed(job) or not job.sealed.sealed_height or job.sealed.disclosed_height:
        raise ErrNotDisclosable(f"job {job.id} is not a sealed, undisclosed job")
    if len(msg.prompt) > job.sealed.prompt_bytes:
        raise ErrInvalidDisclosure(f"prompt longer than the job's {job.sealed.prompt_bytes} bytes")
    secrets = sealing.JobSecrets(msg.job_key)
    if secrets.reply_pubkey != job.sealed.reply_pubkey:
        raise ErrInvalidDisclosure("the key does not derive the job's reply key")
    if secrets.prompt_commitment(msg.prompt) != job.sealed.prompt_commitment:
        raise ErrInvalidDisclosure("the prompt does not open the prompt commitment")
    # mutate
    job.prompt = msg.prompt
    job.sealed.disclosed_job_key = msg.job_key
    job.sealed.disclosed_height = ctx.block.height
    keeper.set_job(ctx, job)
    seals = keeper.get_seals(ctx, job.id)
    assert seals is not None  # a sealed job has its boxes
    ctx.gas.consume(
        sum(
            logic.REBUILD_GAS_FLAT
            + logic.REBUILD_GAS_PER_BYTE * len(seals.routes[c.route].boxes[c.hop])
            for c in job.sealed.contested
        ),
        "sealed job disclosure: rebuild contested boxes",
    )
    false_contests = logic.compute_false_contests(job, seals, secrets, ctx.block.chain_id)
    # hooks
    opened = keeper.hooks.open_disclosed_outputs(
        ctx, job, secrets.reply_private, secrets.output_key
    )
    keeper.hooks.penalize_false_contests(ctx, job, false_contests)
    # events
    ctx.events.emit(events.JOB_DISCLOSED, *job_attributes(job), attr("outputs_opened", opened))
    # respond
    return tx_pb2.MsgDiscloseSealedJobResponse(outputs_opened=opened)
