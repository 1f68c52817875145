"""inference keeper: jobs with their indexes and queues, params, and the escrow account.

Indexes and queues are derived from the job (``keys.job_index_keys``): ``set_job`` writes the
difference between the stored job's keys and the new job's, so they can never drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from chain.store import prefix_end
from chain.tx import Coin
from infera.inference.v1 import types_pb2
from modules.inference import events, keys, logic
from modules.inference.expected import (
    BankKeeper,
    BeaconKeeper,
    JobHooks,
    JobPolicy,
    ModelsKeeper,
    ShardingKeeper,
    WorkersKeeper,
)


class InferenceKeeper:
    def __init__(
        self,
        bank: BankKeeper,
        models: ModelsKeeper,
        sharding: ShardingKeeper,
        workers: WorkersKeeper,
    ) -> None:
        self.bank = bank
        self.models = models
        self.sharding = sharding
        self.workers = workers
        self._hooks: JobHooks | None = None
        # set by the wiring; None: seeds come from the block hash (grindable by its proposer)
        self.beacon: BeaconKeeper | None = None
        # set by the wiring (the tee module); None: no extra submission or sealing rules
        self.policy: JobPolicy | None = None

    def set_hooks(self, hooks: JobHooks) -> None:
        """Called once by the wiring: the output-agreement module's round hooks."""
        if self._hooks is not None:
            raise RuntimeError("inference hooks already set")
        self._hooks = hooks

    @property
    def hooks(self) -> JobHooks:
        if self._hooks is None:
            raise RuntimeError("inference hooks not set (see chain/wiring.py)")
        return self._hooks

    # -- params --------------------------------------------------------------------------------

    def get_params(self, ctx: Context) -> types_pb2.Params:
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("inference params missing from state")
        return types_pb2.Params.FromString(raw)

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString(deterministic=True))

    # -- jobs ----------------------------------------------------------------------------------

    def get_job(self, ctx: Context, job_id: int) -> types_pb2.Job | None:
        raw = ctx.store.get(keys.job_key(job_id))
        return None if raw is None else types_pb2.Job.FromString(raw)

    def set_job(self, ctx: Context, job: types_pb2.Job) -> None:
        """Store ``job`` and move its index and queue entries; refuses illegal transitions."""
        old = self.get_job(ctx, job.id)
        if old is not None and not logic.is_valid_transition(old.state, job.state):
            raise RuntimeError(f"job {job.id}: illegal transition {old.state} -> {job.state}")
        old_keys = keys.job_index_keys(old) if old is not None else set()
        new_keys = keys.job_index_keys(job)
        for key in sorted(old_keys - new_keys):
            ctx.store.delete(key)
        for key in sorted(new_keys - old_keys):
            ctx.store.set(key, keys.INDEX_VALUE)
        ctx.store.set(keys.job_key(job.id), job.SerializeToString(deterministic=True))

    def get_seals(self, ctx: Context, job_id: int) -> types_pb2.JobSeals | None:
        """A sealed job's boxes; None before MsgSealPrompt (or for a public job)."""
        raw = ctx.store.get(keys.seals_key(job_id))
        return None if raw is None else types_pb2.JobSeals.FromString(raw)

    def set_seals(self, ctx: Context, seals: types_pb2.JobSeals) -> None:
        ctx.store.set(keys.seals_key(seals.job_id), seals.SerializeToString(deterministic=True))

    def iterate_seals(self, ctx: Context) -> Iterator[types_pb2.JobSeals]:
        """Every stored JobSeals in job id order (genesis export)."""
        for _, raw in ctx.store.iterate(keys.SEALS, prefix_end(keys.SEALS)):
            yield types_pb2.JobSeals.FromString(raw)

    def seal_due_job_ids(self, ctx: Context, height: int, limit: int) -> list[int]:
        """Assigned sealed jobs still unsealed whose seal window ended at or before ``height``."""
        end = keys.SEAL_DUE + keys.u64(height + 1)
        return [job_id for _, job_id in islice(self.iterate_index(ctx, keys.SEAL_DUE, end), limit)]

    def iterate_jobs(self, ctx: Context) -> Iterator[types_pb2.Job]:
        """Every job in id order (genesis export, invariants)."""
        for _, raw in ctx.store.iterate(keys.JOB, prefix_end(keys.JOB)):
            yield types_pb2.Job.FromString(raw)

    def get_next_job_id(self, ctx: Context) -> int:
        raw = ctx.store.get(keys.NEXT_JOB_ID)
        return int(raw) if raw else 1

    def set_next_job_id(self, ctx: Context, job_id: int) -> None:
        ctx.store.set(keys.NEXT_JOB_ID, str(job_id).encode())

    def iterate_index(
        self, ctx: Context, start: bytes, end: bytes | None
    ) -> Iterator[tuple[bytes, int]]:
        """(index key, job id) for the index keys in [start, end); the id is the last 8 bytes."""
        for key, _ in ctx.store.iterate(start, end):
            yield key, int.from_bytes(key[-8:], "big")

    def submitted_job_ids(self, ctx: Context, limit: int) -> list[int]:
        """The assignment queue: SUBMITTED jobs in id (submission) order, at most ``limit``."""
        prefix = keys.BY_STATE + bytes([types_pb2.JOB_STATE_SUBMITTED])
        return [
            job_id
            for _, job_id in islice(self.iterate_index(ctx, prefix, prefix_end(prefix)), limit)
        ]

    def due_job_ids(self, ctx: Context, height: int, limit: int) -> list[int]:
        """Open jobs whose deadline is at or before ``height``, oldest deadline first."""
        end = keys.DEADLINE + keys.u64(height + 1)
        return [job_id for _, job_id in islice(self.iterate_index(ctx, keys.DEADLINE, end), limit)]

    def open_job_ids(self, ctx: Context) -> Iterator[int]:
        """Every non-terminal job (the deadline queue), in (deadline, id) order."""
        for _, job_id in self.iterate_index(ctx, keys.DEADLINE, prefix_end(keys.DEADLINE)):
            yield job_id

    # -- escrow --------------------------------------------------------------------------------

    def escrow_address(self) -> bytes:
        return crypto.module_address(keys.ESCROW_ACCOUNT)

    def pay_from_escrow(
        self, ctx: Context, job: types_pb2.Job, recipient: bytes, amount: int, denom: str
    ) -> None:
        """Move ``amount`` of the job's escrow to ``recipient``; the caller stores the job."""
        escrow = int(job.escrow)
        if amount > escrow:
            raise RuntimeError(f"job {job.id}: paying {amount} out of an escrow of {escrow}")
        if amount > 0:
            self.bank.send_coins_from_module(
                ctx, keys.ESCROW_ACCOUNT, recipient, [Coin(denom, amount)]
            )
        job.escrow = str(escrow - amount)

    def refund_escrow(self, ctx: Context, job: types_pb2.Job) -> int:
        """Pay what is left of the job's escrow back to its submitter; returns the amount."""
        amount = int(job.escrow)
        denom = self.get_params(ctx).fee_denom
        self.pay_from_escrow(ctx, job, crypto.from_bech32(job.submitter), amount, denom)
        job.refunded = str(int(job.refunded or "0") + amount)
        return amount

    def expire_job(self, ctx: Context, job: types_pb2.Job, reason: str) -> None:
        """Refund what is left and close the job as EXPIRED with ``reason``."""
        refunded = self.refund_escrow(ctx, job)
        job.state = types_pb2.JOB_STATE_EXPIRED
        job.reason = reason
        job.final_height = ctx.block.height
        self.set_job(ctx, job)
        ctx.events.emit(
            events.JOB_EXPIRED,
            *job_attributes(job),
            attr("reason", reason),
            attr("refunded", refunded),
        )


def job_attributes(job: types_pb2.Job) -> tuple:
    """The indexed attributes every job event carries."""
    return (
        attr("job_id", job.id, index=True),
        attr("model_id", job.model_id, index=True),
        attr("submitter", job.submitter, index=True),
    )
