"""agreement keeper: commitments, reveals, outputs, disputes, votes, settlements, the round
schedule and params (get/set/iterate), plus ``resolve_dispute`` for the verification module."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import TypeVar

import chain.pb  # noqa: F401

from google.protobuf.message import Message

from chain.context import Context
from chain.store import prefix_end
from infera.agreement.v1 import types_pb2
from modules.agreement import keys
from modules.agreement.expected import (
    BankKeeper,
    BeaconKeeper,
    InferenceKeeper,
    ModelsKeeper,
    StakingKeeper,
    WorkersKeeper,
)

M = TypeVar("M", bound=Message)


class AgreementKeeper:
    def __init__(
        self,
        inference: InferenceKeeper,
        workers: WorkersKeeper,
        bank: BankKeeper,
        staking: StakingKeeper,
    ) -> None:
        self.inference = inference
        self.workers = workers
        self.bank = bank  # pays out the audit hold (keys.AUDIT_HOLD_ACCOUNT)
        self.staking = staking  # validators' operator accounts (verification rewards)
        # set by the wiring; None: audit draws come from the block hash (grindable)
        self.beacon: BeaconKeeper | None = None
        # set by the wiring; None: the divergence rule uses the params alone (settlement.py)
        self.models: ModelsKeeper | None = None

    # -- params --------------------------------------------------------------------------------

    def get_params(self, ctx: Context) -> types_pb2.Params:
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("agreement params missing from state")
        return types_pb2.Params.FromString(raw)

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString(deterministic=True))

    # -- commitments and reveals ---------------------------------------------------------------

    def get_commitment(
        self, ctx: Context, job_id: int, route: int, hop: int
    ) -> types_pb2.Commitment | None:
        return _get(ctx, keys.hop_key(keys.COMMITMENT, job_id, route, hop), types_pb2.Commitment)

    def set_commitment(self, ctx: Context, commitment: types_pb2.Commitment) -> None:
        key = keys.hop_key(
            keys.COMMITMENT, commitment.job_id, commitment.route_index, commitment.hop_index
        )
        _set(ctx, key, commitment)

    def iterate_commitments(self, ctx: Context, job_id: int) -> Iterator[types_pb2.Commitment]:
        """A job's commitments in (route, hop) order."""
        return _iterate(ctx, keys.job_prefix(keys.COMMITMENT, job_id), types_pb2.Commitment)

    def get_reveal(
        self, ctx: Context, job_id: int, route: int, hop: int
    ) -> types_pb2.Reveal | None:
        return _get(ctx, keys.hop_key(keys.REVEAL, job_id, route, hop), types_pb2.Reveal)

    def set_reveal(self, ctx: Context, reveal: types_pb2.Reveal) -> None:
        key = keys.hop_key(keys.REVEAL, reveal.job_id, reveal.route_index, reveal.hop_index)
        _set(ctx, key, reveal)

    def iterate_reveals(self, ctx: Context, job_id: int) -> Iterator[types_pb2.Reveal]:
        """A job's reveals in (route, hop) order."""
        return _iterate(ctx, keys.job_prefix(keys.REVEAL, job_id), types_pb2.Reveal)

    # -- outputs -------------------------------------------------------------------------------

    def get_output(self, ctx: Context, job_id: int, output_hash: bytes) -> types_pb2.Output | None:
        return _get(ctx, keys.job_prefix(keys.OUTPUT, job_id) + output_hash, types_pb2.Output)

    def set_output(self, ctx: Context, job_id: int, output: types_pb2.Output) -> None:
        _set(ctx, keys.job_prefix(keys.OUTPUT, job_id) + output.output_hash, output)

    def iterate_outputs(self, ctx: Context, job_id: int) -> Iterator[types_pb2.Output]:
        """A job's distinct outputs in output-hash order."""
        return _iterate(ctx, keys.job_prefix(keys.OUTPUT, job_id), types_pb2.Output)

    def iterate_all_outputs(self, ctx: Context) -> Iterator[tuple[int, types_pb2.Output]]:
        """(job id, output) for every stored output in key order (genesis export)."""
        for key, raw in ctx.store.iterate(keys.OUTPUT, prefix_end(keys.OUTPUT)):
            job_id = int.from_bytes(key[len(keys.OUTPUT) : len(keys.OUTPUT) + 8], "big")
            yield job_id, types_pb2.Output.FromString(raw)

    # -- disputes, votes, settlements ----------------------------------------------------------

    def get_dispute(self, ctx: Context, job_id: int) -> types_pb2.Dispute | None:
        return _get(ctx, keys.job_prefix(keys.DISPUTE, job_id), types_pb2.Dispute)

    def set_dispute(self, ctx: Context, dispute: types_pb2.Dispute) -> None:
        _set(ctx, keys.job_prefix(keys.DISPUTE, dispute.job_id), dispute)

    def set_vote(self, ctx: Context, validator: bytes, vote: types_pb2.DisputeVote) -> None:
        """Record (or replace) one validator's vote on a disputed job."""
        _set(ctx, keys.job_prefix(keys.VOTE, vote.job_id) + validator, vote)

    def iterate_votes(self, ctx: Context, job_id: int) -> Iterator[types_pb2.DisputeVote]:
        """A job's votes in validator-address order."""
        return _iterate(ctx, keys.job_prefix(keys.VOTE, job_id), types_pb2.DisputeVote)

    def get_audit(self, ctx: Context, job_id: int) -> types_pb2.Audit | None:
        return _get(ctx, keys.job_prefix(keys.AUDIT, job_id), types_pb2.Audit)

    def set_audit(self, ctx: Context, audit: types_pb2.Audit) -> None:
        _set(ctx, keys.job_prefix(keys.AUDIT, audit.job_id), audit)

    def iterate_audits(self, ctx: Context, start_job_id: int = 0) -> Iterator[types_pb2.Audit]:
        """Audits in job order from ``start_job_id`` on (the verifier sidecar reads them)."""
        for _, raw in ctx.store.iterate(
            keys.job_prefix(keys.AUDIT, start_job_id), prefix_end(keys.AUDIT)
        ):
            yield types_pb2.Audit.FromString(raw)

    def get_settlement(self, ctx: Context, job_id: int) -> types_pb2.Settlement | None:
        return _get(ctx, keys.job_prefix(keys.SETTLEMENT, job_id), types_pb2.Settlement)

    def set_settlement(self, ctx: Context, settlement: types_pb2.Settlement) -> None:
        _set(ctx, keys.job_prefix(keys.SETTLEMENT, settlement.job_id), settlement)

    def iterate_all(self, ctx: Context, prefix: bytes, kind: type[M]) -> Iterator[M]:
        """Every record under one of the prefixes in ``keys`` (genesis export)."""
        return _iterate(ctx, prefix, kind)

    # -- open verifications (verifications.py) -------------------------------------------------

    def get_verification(self, ctx: Context, job_id: int) -> types_pb2.Verification | None:
        return _get(ctx, keys.job_prefix(keys.VERIFICATION, job_id), types_pb2.Verification)

    def set_verification(self, ctx: Context, verification: types_pb2.Verification) -> None:
        """Store an open verification and keep its queue or slot entry in step with it."""
        job_id = verification.job_id
        _set(ctx, keys.job_prefix(keys.VERIFICATION, job_id), verification)
        queued = _queue_key(verification)
        if verification.activated_height:
            ctx.store.delete(queued)
            ctx.store.set(keys.job_prefix(keys.VERIFY_ACTIVE, job_id), keys.INDEX_VALUE)
        else:
            ctx.store.set(queued, keys.INDEX_VALUE)

    def delete_verification(self, ctx: Context, job_id: int) -> None:
        """Remove a closed verification with its queue and slot entries."""
        verification = self.get_verification(ctx, job_id)
        if verification is None:
            return
        ctx.store.delete(_queue_key(verification))
        ctx.store.delete(keys.job_prefix(keys.VERIFY_ACTIVE, job_id))
        ctx.store.delete(keys.job_prefix(keys.VERIFICATION, job_id))

    def active_verification_ids(self, ctx: Context, limit: int) -> list[int]:
        """Jobs holding a verification slot, in id order (at most ``limit``)."""
        entries = ctx.store.iterate(keys.VERIFY_ACTIVE, prefix_end(keys.VERIFY_ACTIVE))
        return [int.from_bytes(key[-8:], "big") for key, _ in islice(entries, limit)]

    def queued_verification_ids(self, ctx: Context, limit: int) -> list[int]:
        """Waiting verifications in queue order (turn, fee, age, id: keys.queue_key), at most
        ``limit``."""
        entries = ctx.store.iterate(keys.VERIFY_QUEUE, prefix_end(keys.VERIFY_QUEUE))
        return [int.from_bytes(key[-8:], "big") for key, _ in islice(entries, limit)]

    def iterate_verifications(self, ctx: Context) -> Iterator[types_pb2.Verification]:
        """Every open verification in job order (genesis export)."""
        return _iterate(ctx, keys.VERIFICATION, types_pb2.Verification)

    def get_open_count(self, ctx: Context, submitter: bytes) -> int:
        """How many verifications of ``submitter``'s jobs are open (queued or in a slot)."""
        raw = ctx.store.get(keys.OPEN_COUNT + submitter)
        return 0 if raw is None else int.from_bytes(raw, "big")

    def set_open_count(self, ctx: Context, submitter: bytes, count: int) -> None:
        if count:
            ctx.store.set(keys.OPEN_COUNT + submitter, keys.u32(count))
        else:
            ctx.store.delete(keys.OPEN_COUNT + submitter)

    # -- round schedule ------------------------------------------------------------------------

    def schedule(self, ctx: Context, job_id: int, height: int) -> None:
        """The job's round advances at the end of block ``height`` (replaces any earlier entry)."""
        self.unschedule(ctx, job_id)
        ctx.store.set(keys.due_key(height, job_id), keys.INDEX_VALUE)
        ctx.store.set(keys.job_prefix(keys.DUE_BY_JOB, job_id), keys.u64(height))

    def unschedule(self, ctx: Context, job_id: int) -> None:
        raw = ctx.store.get(keys.job_prefix(keys.DUE_BY_JOB, job_id))
        if raw is not None:
            ctx.store.delete(keys.due_key(int.from_bytes(raw, "big"), job_id))
            ctx.store.delete(keys.job_prefix(keys.DUE_BY_JOB, job_id))

    def get_scheduled_height(self, ctx: Context, job_id: int) -> int | None:
        """The height at whose end the job's round advances (or audit window ends), if any."""
        raw = ctx.store.get(keys.job_prefix(keys.DUE_BY_JOB, job_id))
        return None if raw is None else int.from_bytes(raw, "big")

    def due_job_ids(self, ctx: Context, height: int, limit: int) -> list[int]:
        """Jobs due at or before ``height``, oldest first, at most ``limit``."""
        entries = ctx.store.iterate(keys.DUE, keys.DUE + keys.u64(height + 1))
        return [int.from_bytes(key[-8:], "big") for key, _ in islice(entries, limit)]

    def iterate_schedule(self, ctx: Context) -> Iterator[tuple[int, int]]:
        """Every (height, job id) entry in order (genesis export)."""
        for key, _ in ctx.store.iterate(keys.DUE, prefix_end(keys.DUE)):
            suffix = key[len(keys.DUE) :]
            yield int.from_bytes(suffix[:8], "big"), int.from_bytes(suffix[8:], "big")

    # -- for the verification module -----------------------------------------------------------

    def resolve_dispute(self, ctx: Context, job_id: int, winning_output_hash: bytes) -> None:
        """Decide a dispute: pay the complete routes that revealed ``winning_output_hash`` as a
        quorum would have been paid, lower the reputation of hops that revealed another output.

        Fails (ErrNotDisputed, ErrInvalidResolution) without changing state when the job has no
        open dispute or no complete route claimed that output.
        """
        from modules.agreement import settlement  # settlement uses this keeper's getters

        settlement.resolve_dispute(ctx, self, job_id, winning_output_hash)


def _queue_key(verification: types_pb2.Verification) -> bytes:
    fee = int(verification.fee or "0")
    return keys.queue_key(verification.turn, fee, verification.queued_height, verification.job_id)


def _get(ctx: Context, key: bytes, kind: type[M]) -> M | None:
    raw = ctx.store.get(key)
    return None if raw is None else kind.FromString(raw)


def _set(ctx: Context, key: bytes, message: Message) -> None:
    ctx.store.set(key, message.SerializeToString(deterministic=True))


def _iterate(ctx: Context, prefix: bytes, kind: type[M]) -> Iterator[M]:
    for _, raw in ctx.store.iterate(prefix, prefix_end(prefix)):
        yield kind.FromString(raw)
