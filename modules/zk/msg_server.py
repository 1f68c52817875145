"""zk messages: register a verifying key, submit a job's proof."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from infera.zk.v1 import tx_pb2, types_pb2
from modules.zk import encoding, events, logic
from modules.zk.errors import (
    ErrBlockProofCap,
    ErrDevKeyRefused,
    ErrInputMismatch,
    ErrInvalidKeyId,
    ErrInvalidWeights,
    ErrJobNotFound,
    ErrJobNotOpen,
    ErrKeyExists,
    ErrModelHasKey,
    ErrModelNotFound,
    ErrNoKeyForModel,
    ErrNotJobWorker,
    ErrNotModelOwner,
    ErrProofPending,
    ErrWeightsMismatch,
)
from modules.zk.keeper import ZkKeeper


def register_verifying_key(
    ctx: Context, keeper: ZkKeeper, msg: tx_pb2.MsgRegisterVerifyingKey
) -> tx_pb2.MsgRegisterVerifyingKeyResponse:
    """Store a Groth16 key and link it to a model owned by the signer.

    Fails when: the owner address is malformed; the id is not [a-z0-9._-]{1,64}; the key is not
    a canonical encoding (length, coordinates < p, on curve, G2 subgroup) or declares more than
    max_public_inputs inputs; the weights declaration is bad (PRIVATE without a 32-byte
    commitment < r or with fewer than 2 public inputs, BAKED with a commitment, an unknown
    mode); the chain refuses dev keys and dev_setup is set; the model does not exist or is not
    the signer's; the model already has a key; the id is taken.
    """
    # verify
    owner = crypto.to_bech32(crypto.from_bech32(msg.owner))
    if not logic.is_valid_key_id(msg.id):
        raise ErrInvalidKeyId(repr(msg.id)[:80])
    params = keeper.get_params(ctx)
    ctx.gas.consume(params.key_gas_per_byte * len(msg.key), "zk: verifying key decoding")
    decoded = encoding.decode_verifying_key(msg.key, max_public=params.max_public_inputs)
    if not logic.is_valid_weights(msg.weights, msg.weights_commitment, decoded.num_public):
        raise ErrInvalidWeights(f"key {msg.id}: weights mode {msg.weights}")
    # load
    model = keeper.models.get_model(ctx, msg.model_id)
    # check
    if msg.dev_setup and params.refuse_dev_keys:
        raise ErrDevKeyRefused(msg.id)
    if model is None:
        raise ErrModelNotFound(repr(msg.model_id)[:80])
    if model.owner != owner:
        raise ErrNotModelOwner(msg.model_id)
    if keeper.get_model_key_id(ctx, msg.model_id) is not None:
        raise ErrModelHasKey(msg.model_id)
    if keeper.get_key(ctx, msg.id) is not None:
        raise ErrKeyExists(msg.id)
    # mutate
    key = types_pb2.VerifyingKey(
        id=msg.id,
        owner=owner,
        model_id=msg.model_id,
        key=msg.key,
        num_public=decoded.num_public,
        dev_setup=msg.dev_setup,
        height=ctx.block.height,
        weights=msg.weights,
        weights_commitment=msg.weights_commitment,
    )
    keeper.set_key(ctx, key)
    # events
    ctx.events.emit(
        events.REGISTER_KEY,
        attr("key_id", key.id, index=True),
        attr("model_id", key.model_id, index=True),
        attr("owner", owner, index=True),
        attr("num_public", key.num_public),
        attr("dev_setup", "true" if key.dev_setup else "false"),
        attr("weights", "private" if key.weights == types_pb2.WEIGHTS_MODE_PRIVATE else "baked"),
        attr("weights_commitment", key.weights_commitment.hex()),
    )
    # respond
    return tx_pb2.MsgRegisterVerifyingKeyResponse()


def submit_proof(
    ctx: Context, keeper: ZkKeeper, msg: tx_pb2.MsgSubmitProof
) -> tx_pb2.MsgSubmitProofResponse:
    """Queue a job's proof for this block's end-block batch verification.

    The sender pays verify_gas whatever the verdict, so a bad proof costs its sender the gas of
    the checks it causes. Fails when: the prover address is malformed; the proof is not 256
    canonical bytes (coordinates < p, on curve, B in the G2 subgroup); the job does not exist or
    is not assigned and unsettled; its model has no key; the public inputs are not the key's
    count of scalars < r; the job's prompt declares an input commitment ("zk1:<hex>") and
    the last public input is not it; the key has PRIVATE weights and public input num_public - 2
    is not its registered weights commitment; the prover is not a hop of the job's routes; the job already has a
    pending or verified proof; this block holds max_proofs_per_block proofs already.
    """
    # verify
    prover = crypto.to_bech32(crypto.from_bech32(msg.prover))
    params = keeper.get_params(ctx)
    ctx.gas.consume(params.verify_gas, "zk: proof verification")
    encoding.decode_proof(msg.proof)
    # load
    job = keeper.inference.get_job(ctx, msg.job_id)
    if job is None:
        raise ErrJobNotFound(str(msg.job_id))
    key_id = keeper.get_model_key_id(ctx, job.model_id)
    key = None if key_id is None else keeper.get_key(ctx, key_id)
    previous = keeper.get_record(ctx, msg.job_id)
    pending = keeper.pending_job_ids(ctx)
    # check
    if key is None:
        raise ErrNoKeyForModel(job.model_id)
    encoding.decode_public_inputs(msg.public_inputs, key.num_public)
    if not logic.is_bound_to_job(job.prompt, msg.public_inputs):
        raise ErrInputMismatch(f"job {job.id}")
    if not logic.is_weights_bound(key, msg.public_inputs):
        raise ErrWeightsMismatch(f"job {job.id}, key {key.id}")
    if not logic.is_open_job(job):
        raise ErrJobNotOpen(f"job {job.id} is in state {job.state}")
    if not logic.is_job_worker(job, prover):
        raise ErrNotJobWorker(prover)
    if previous is not None and previous.status != types_pb2.PROOF_STATUS_REJECTED:
        raise ErrProofPending(str(job.id))
    if len(pending) >= params.max_proofs_per_block:
        raise ErrBlockProofCap(str(params.max_proofs_per_block))
    # mutate
    record = types_pb2.ProofRecord(
        job_id=job.id,
        prover=prover,
        key_id=key.id,
        proof=msg.proof,
        public_inputs=msg.public_inputs,
        status=types_pb2.PROOF_STATUS_PENDING,
        height=ctx.block.height,
        paid="0",
    )
    keeper.set_record(ctx, record)
    keeper.add_pending(ctx, job.id)
    # events
    ctx.events.emit(
        events.PROOF_SUBMITTED,
        attr("job_id", job.id, index=True),
        attr("prover", prover, index=True),
        attr("key_id", key.id),
    )
    # respond
    return tx_pb2.MsgSubmitProofResponse()
