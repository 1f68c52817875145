"""workers keeper: worker records, the span index, reputations, the unbonding queue, params.

The first part is plain get/set/iterate. The last part is the API other modules use (see
docs/inference-modules-contract.md): liveness, stake, slashing and reputation.
"""

from __future__ import annotations

from collections.abc import Iterator

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from chain.store import prefix_end
from chain.tx import Coin
from infera.workers.v1 import types_pb2
from modules.workers import events, keys, logic
from modules.workers.errors import ErrWorkerNotFound
from modules.workers.expected import Attestations, BankKeeper, ModelsKeeper


class WorkersKeeper:
    def __init__(self, bank: BankKeeper, models: ModelsKeeper) -> None:
        self.bank = bank
        self.models = models
        # set by the wiring (the tee module); None: the Worker query shows no attestation
        self.attestations: Attestations | None = None

    # -- params --------------------------------------------------------------------------------

    def get_params(self, ctx: Context) -> types_pb2.Params:
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("workers params missing from state")
        return types_pb2.Params.FromString(raw)

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString(deterministic=True))

    # -- workers -------------------------------------------------------------------------------

    def get_worker(self, ctx: Context, operator: bytes) -> types_pb2.Worker | None:
        raw = ctx.store.get(keys.worker_key(operator))
        return None if raw is None else types_pb2.Worker.FromString(raw)

    def set_worker(self, ctx: Context, operator: bytes, worker: types_pb2.Worker) -> None:
        ctx.store.set(keys.worker_key(operator), worker.SerializeToString(deterministic=True))

    def delete_worker(self, ctx: Context, operator: bytes) -> None:
        ctx.store.delete(keys.worker_key(operator))

    def iterate_workers(self, ctx: Context) -> Iterator[tuple[bytes, types_pb2.Worker]]:
        """(operator, worker) in operator-address order."""
        for key, raw in ctx.store.iterate(keys.WORKER, prefix_end(keys.WORKER)):
            yield key[len(keys.WORKER) :], types_pb2.Worker.FromString(raw)

    # -- span index (model -> operators) -------------------------------------------------------

    def set_span_index(
        self, ctx: Context, model_id: str, operator: bytes, start: int, end: int
    ) -> None:
        ctx.store.set(keys.span_key(model_id, operator, start, end), operator)

    def delete_span_index(
        self, ctx: Context, model_id: str, operator: bytes, start: int, end: int
    ) -> None:
        ctx.store.delete(keys.span_key(model_id, operator, start, end))

    def iterate_model_spans(self, ctx: Context, model_id: str) -> Iterator[tuple[bytes, int, int]]:
        """(operator, start, end) of every announced span of ``model_id``, in (operator, start)
        order; bonded workers only (unbonding ones serve nothing)."""
        prefix = keys.model_spans_prefix(model_id)
        for key, _ in ctx.store.iterate(prefix, prefix_end(prefix)):
            yield keys.parse_span_suffix(key[len(prefix) :])

    def iterate_all_spans(self, ctx: Context) -> Iterator[tuple[str, bytes, int, int]]:
        """(model id, operator, start, end) of every indexed span (invariants, genesis)."""
        for key, _ in ctx.store.iterate(keys.SPAN, prefix_end(keys.SPAN)):
            suffix = key[len(keys.SPAN) :]
            model_id = suffix[: -keys.SPAN_TAIL_LENGTH - 1].decode()
            yield (model_id, *keys.parse_span_suffix(suffix[-keys.SPAN_TAIL_LENGTH :]))

    # -- reputation ----------------------------------------------------------------------------

    def get_stored_reputation(self, ctx: Context, operator: bytes) -> int | None:
        raw = ctx.store.get(keys.reputation_key(operator))
        return None if raw is None else int(raw)

    def set_reputation(self, ctx: Context, operator: bytes, reputation: int) -> None:
        ctx.store.set(keys.reputation_key(operator), str(reputation).encode())

    def iterate_reputations(self, ctx: Context) -> Iterator[tuple[bytes, int]]:
        for key, raw in ctx.store.iterate(keys.REPUTATION, prefix_end(keys.REPUTATION)):
            yield key[len(keys.REPUTATION) :], int(raw)

    # -- unbonding queue -----------------------------------------------------------------------

    def enqueue_unbonding(self, ctx: Context, completion_height: int, operator: bytes) -> None:
        ctx.store.set(keys.unbonding_queue_key(completion_height, operator), operator)

    def dequeue_unbonding(self, ctx: Context, completion_height: int, operator: bytes) -> None:
        ctx.store.delete(keys.unbonding_queue_key(completion_height, operator))

    def iterate_mature_unbondings(self, ctx: Context, height: int) -> Iterator[tuple[int, bytes]]:
        """(completion height, operator) of unbondings due at or before ``height``, oldest first."""
        end = keys.unbonding_queue_key(height + 1, b"")
        for key, operator in ctx.store.iterate(keys.UNBONDING_QUEUE, end):
            yield int.from_bytes(key[len(keys.UNBONDING_QUEUE) :][:8], "big"), operator

    # -- burned total --------------------------------------------------------------------------

    def get_burned(self, ctx: Context) -> int:
        raw = ctx.store.get(keys.BURNED)
        return int(raw) if raw else 0

    def set_burned(self, ctx: Context, amount: int) -> None:
        ctx.store.set(keys.BURNED, str(amount).encode())

    # -- API for other modules (contract) ------------------------------------------------------

    def is_active(self, ctx: Context, operator: bytes) -> bool:
        """Registered, bonded with at least min_stake, heartbeat fresh at this block."""
        worker = self.get_worker(ctx, operator)
        return worker is not None and logic.is_active(
            worker, self.get_params(ctx), ctx.block.height
        )

    def get_stake(self, ctx: Context, operator: bytes) -> int:
        """Slashable stake: bonded + unbonding (0 for unknown operators)."""
        worker = self.get_worker(ctx, operator)
        return 0 if worker is None else int(worker.bonded) + int(worker.unbonding)

    def get_reputation(self, ctx: Context, operator: bytes) -> int:
        """Reputation in micro-units; operators never adjusted have REPUTATION_START."""
        stored = self.get_stored_reputation(ctx, operator)
        return logic.REPUTATION_START if stored is None else stored

    def adjust_reputation(
        self, ctx: Context, operator: bytes, numerator: int, denominator: int
    ) -> int:
        """reputation := clamp(reputation x numerator // denominator); returns the new value.
        Raises ErrWorkerNotFound for an operator that never registered."""
        stored = self.get_stored_reputation(ctx, operator)
        if stored is None and self.get_worker(ctx, operator) is None:
            raise ErrWorkerNotFound(crypto.to_bech32(operator))
        current = logic.REPUTATION_START if stored is None else stored
        reputation = logic.compute_reputation(current, numerator, denominator)
        self.set_reputation(ctx, operator, reputation)
        ctx.events.emit(
            events.REPUTATION,
            attr("worker", crypto.to_bech32(operator), index=True),
            attr("reputation", reputation),
        )
        return reputation

    def record_commit_speed(
        self, ctx: Context, operator: bytes, blocks_after_assignment: int, window_blocks: int
    ) -> None:
        """Fold one commit's latency into the worker's measured speed (placement only; no
        effect on the chance of being chosen). Unknown operators are ignored."""
        worker = self.get_worker(ctx, operator)
        if worker is None:
            return
        sample = logic.compute_speed_sample(blocks_after_assignment, window_blocks)
        worker.speed = logic.compute_speed(worker.speed, worker.speed_samples, sample)
        worker.speed_samples += 1
        self.set_worker(ctx, operator, worker)

    def slash(self, ctx: Context, operator: bytes, fraction: str, reason: str) -> int:
        """Burn floor((bonded + unbonding) x fraction), bonded stake first; returns the amount
        burned (0 for unknown operators). ``fraction`` is a decimal string in [0, 1]."""
        worker = self.get_worker(ctx, operator)
        if worker is None:
            return 0
        denom = self.get_params(ctx).bond_denom
        from_bonded, from_unbonding = logic.compute_slash_split(
            int(worker.bonded), int(worker.unbonding), fraction
        )
        for pool, amount in (
            (keys.BONDED_POOL, from_bonded),
            (keys.UNBONDING_POOL, from_unbonding),
        ):
            if amount > 0:
                self.bank.burn_coins(ctx, pool, [Coin(denom, amount)])
        total = from_bonded + from_unbonding
        worker.bonded = str(int(worker.bonded) - from_bonded)
        worker.unbonding = str(int(worker.unbonding) - from_unbonding)
        worker.slashed = str(int(worker.slashed or "0") + total)
        self.set_worker(ctx, operator, worker)
        self.set_burned(ctx, self.get_burned(ctx) + total)
        ctx.events.emit(
            events.SLASH_WORKER,
            attr("worker", worker.operator, index=True),
            attr("reason", reason),
            attr("amount", total),
            attr("bonded", worker.bonded),
            attr("unbonding", worker.unbonding),
        )
        return total
