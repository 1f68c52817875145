"""zk end-block: verify this block's proofs in one batch, settle the jobs of the valid ones."""

from __future__ import annotations

import hashlib

import chain.pb  # noqa: F401

import structlog

from chain import crypto
from chain.context import Context
from chain.errors import ChainError
from chain.events import attr
from infera.inference.v1 import types_pb2 as inference_pb2
from infera.zk.v1 import types_pb2
from modules.zk import encoding, events, groth16, logic
from modules.zk.errors import ErrInvalidProof, ErrJobNotOpen, ErrSettlementFailed
from modules.zk.keeper import ZkKeeper

log = structlog.get_logger("modules.zk")


def process_batch(ctx: Context, keeper: ZkKeeper) -> None:
    """The end-block entry point with a fault barrier: if the batch raises (a bug, or state no
    rule foresaw), its branch is dropped and every pending proof is rejected with code 22, so the
    block still commits and the same proofs do not fail again every block."""
    child, cache = ctx.branch()
    try:
        verify_and_settle(child, keeper)
    except Exception:
        log.exception("zk end-block batch failed; pending proofs rejected")
        child, cache = ctx.branch()
        for job_id in keeper.pending_job_ids(child):
            record = keeper.get_record(child, job_id)
            if record is not None:
                _reject(child, keeper, record, ErrSettlementFailed.code)
        keeper.clear_pending(child, keeper.pending_job_ids(child))
    cache.write()
    ctx.events.extend(child.events)


def verify_and_settle(ctx: Context, keeper: ZkKeeper) -> None:
    """Batch-verify the pending proofs (at most max_proofs_per_block), bisect a failing batch
    within max_miller_loops_per_block, settle the valid proofs' jobs and record every verdict;
    proofs the budget did not reach stay pending for the next block."""
    params = keeper.get_params(ctx)
    records = [keeper.get_record(ctx, job_id) for job_id in keeper.pending_job_ids(ctx)]
    present = [record for record in records if record is not None]
    items = [_batch_item(ctx, keeper, record) for record in present]
    seed = logic.compute_batch_seed(ctx.block.height, ctx.block.hash)
    bad, undecided = groth16.compute_invalid_indices(
        items, seed, budget=params.max_miller_loops_per_block
    )
    invalid, wait = set(bad), set(undecided)
    keeper.clear_pending(ctx, [r.job_id for i, r in enumerate(present) if i not in wait])
    for index, record in enumerate(present):
        if index in wait:
            continue  # over this block's verification budget: stays pending for the next
        if index in invalid:
            _reject(ctx, keeper, record, ErrInvalidProof.code)
        else:
            _settle(ctx, keeper, record)


def _batch_item(ctx: Context, keeper: ZkKeeper, record: types_pb2.ProofRecord) -> groth16.BatchItem:
    """The decoded item (msg_server already checked every encoding; keys are immutable)."""
    key = keeper.get_key(ctx, record.key_id)
    assert key is not None  # a pending record names a registered key
    vk = encoding.decode_verifying_key(key.key)
    return groth16.BatchItem(
        key_id=key.id,
        vk=vk,
        proof=encoding.decode_proof(record.proof),
        inputs=encoding.decode_public_inputs(record.public_inputs, vk.num_public),
        digest=logic.compute_item_digest(key.key, record.proof, record.public_inputs),
    )


def _settle(ctx: Context, keeper: ZkKeeper, record: types_pb2.ProofRecord) -> None:
    """Finalize the job: pay the prover one route's share, refund the rest, store the result
    (output_hash = sha256 of the public inputs, which are the model's committed output)."""
    child, cache = ctx.branch()
    job = keeper.inference.get_job(child, record.job_id)
    if job is None or not logic.is_open_job(job):  # settled otherwise in this block
        _reject(ctx, keeper, record, ErrJobNotOpen.code)
        return
    try:
        denom = keeper.inference.get_params(child).fee_denom
        pay = logic.compute_prover_pay(job)
        keeper.inference.pay_from_escrow(child, job, crypto.from_bech32(record.prover), pay, denom)
        refunded = keeper.inference.refund_escrow(child, job)
        job.state = inference_pb2.JOB_STATE_FINALIZED
        job.output_hash = hashlib.sha256(record.public_inputs).digest()
        job.final_height = ctx.block.height
        keeper.inference.set_job(child, job)
    except ChainError as err:
        _reject(ctx, keeper, record, err.kind.code)
        return
    cache.write()
    record.status, record.paid = types_pb2.PROOF_STATUS_VERIFIED, str(pay)
    keeper.set_record(ctx, record)
    ctx.events.emit(
        events.PROOF_VERIFIED,
        attr("job_id", record.job_id, index=True),
        attr("prover", record.prover, index=True),
        attr("key_id", record.key_id),
        attr("paid", pay),
        attr("refunded", refunded),
    )


def _reject(ctx: Context, keeper: ZkKeeper, record: types_pb2.ProofRecord, code: int) -> None:
    record.status, record.code = types_pb2.PROOF_STATUS_REJECTED, code
    keeper.set_record(ctx, record)
    ctx.events.emit(
        events.PROOF_REJECTED,
        attr("job_id", record.job_id, index=True),
        attr("prover", record.prover, index=True),
        attr("key_id", record.key_id),
        attr("code", code),
    )
