"""The route filter: the workers keeper that sharding sees, narrowed for TEE-required models.

For a model with a requirement, ``iterate_model_spans`` yields only the spans of workers whose
attestation is valid at this block (height and time), of a required type, with an allowed
measurement, bound to the encryption key the worker registers now. Every other method, and
every model without a requirement, passes through unchanged. The wiring gives this object to
sharding only; the workers module and everyone else keep the plain keeper.
"""

from __future__ import annotations

from collections.abc import Iterator

import chain.pb  # noqa: F401

from chain.context import Context
from infera.tee.v1 import types_pb2 as tee_pb2
from infera.workers.v1 import types_pb2 as workers_pb2
from modules.tee import logic
from modules.tee.expected import WorkersKeeper
from modules.tee.keeper import TeeKeeper


class AttestedWorkers:
    """A ``WorkersKeeper`` that hides unattested workers from TEE-required models' routes."""

    def __init__(self, workers: WorkersKeeper, tee: TeeKeeper) -> None:
        self.workers = workers
        self.tee = tee

    def get_worker(self, ctx: Context, operator: bytes) -> workers_pb2.Worker | None:
        return self.workers.get_worker(ctx, operator)

    def is_active(self, ctx: Context, operator: bytes) -> bool:
        return self.workers.is_active(ctx, operator)

    def get_stake(self, ctx: Context, operator: bytes) -> int:
        return self.workers.get_stake(ctx, operator)

    def get_reputation(self, ctx: Context, operator: bytes) -> int:
        return self.workers.get_reputation(ctx, operator)

    def iterate_model_spans(self, ctx: Context, model_id: str) -> Iterator[tuple[bytes, int, int]]:
        requirement = self.tee.get_requirement(ctx, model_id)
        spans = self.workers.iterate_model_spans(ctx, model_id)
        if requirement is None:
            yield from spans
            return
        params = self.tee.get_params(ctx)
        eligible: dict[bytes, bool] = {}  # operator -> may serve (one attestation read each)
        for operator, start, end in spans:
            if operator not in eligible:
                eligible[operator] = self.is_eligible(ctx, operator, requirement, params)
            if eligible[operator]:
                yield operator, start, end

    def is_eligible(
        self,
        ctx: Context,
        operator: bytes,
        requirement: tee_pb2.ModelRequirement,
        params: tee_pb2.Params,
    ) -> bool:
        worker = self.workers.get_worker(ctx, operator)
        if worker is None:
            return False
        return logic.is_eligible(
            self.tee.get_attestation(ctx, operator),
            encryption_pubkey=bytes(worker.encryption_pubkey),
            requirement=requirement,
            params=params,
            height=ctx.block.height,
            time_s=ctx.block.time_ns // 1_000_000_000,
        )
