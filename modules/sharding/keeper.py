"""sharding keeper: params, and the reads other modules and queries use (route selection,
coverage). Sharding stores no coverage of its own: it reads the workers' span index."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.context import Context
from infera.models.v1 import types_pb2 as models_pb2
from infera.sharding.v1 import types_pb2
from modules.sharding import keys, logic
from modules.sharding.errors import ErrInvalidRedundancy, ErrModelRetired, ErrUnknownModel
from modules.sharding.expected import ModelsKeeper, WorkersKeeper
from modules.sharding.types import Candidate, Hop, Route


class ShardingKeeper:
    def __init__(self, workers: WorkersKeeper, models: ModelsKeeper) -> None:
        self.workers = workers
        self.models = models

    def get_params(self, ctx: Context) -> types_pb2.Params:
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("sharding params missing from state")
        return types_pb2.Params.FromString(raw)

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString(deterministic=True))

    def get_model(self, ctx: Context, model_id: str) -> models_pb2.Model:
        """The model, which must exist (retired ones included)."""
        model = self.models.get_model(ctx, model_id)
        if model is None:
            raise ErrUnknownModel(f"model {model_id!r}")
        return model

    def get_candidates(self, ctx: Context, model_id: str) -> list[Candidate]:
        """Announced spans of ``model_id`` whose workers are active now, with their weights."""
        out, active = [], {}
        for operator, start, end in self.workers.iterate_model_spans(ctx, model_id):
            if operator not in active:
                active[operator] = self.workers.is_active(ctx, operator)
            worker = self.workers.get_worker(ctx, operator) if active[operator] else None
            if worker is None:
                continue
            throughput = worker.hardware.throughput
            weight = logic.compute_weight(
                throughput, int(worker.bonded), self.workers.get_reputation(ctx, operator)
            )
            out.append(Candidate(operator, start, end, weight, throughput))
        return out

    def select_routes(
        self, ctx: Context, model_id: str, redundancy: int, seed: bytes
    ) -> list[Route]:
        """``redundancy`` routes over active workers, each tiling [0, num_layers), no operator
        twice in the job, drawn by weight from a PRNG seeded with ``seed``; deterministic in
        (state, seed). Raises ErrUnknownModel, ErrModelRetired, ErrInvalidRedundancy or
        ErrInsufficientCoverage."""
        params = self.get_params(ctx)
        model = self.get_model(ctx, model_id)
        if model.retired:
            raise ErrModelRetired(f"model {model_id!r}")
        if not 1 <= redundancy <= params.max_redundancy:
            raise ErrInvalidRedundancy(f"{redundancy}, expected 1..{params.max_redundancy}")
        routes = logic.compute_routes(
            self.get_candidates(ctx, model_id),
            model.num_layers,
            redundancy,
            logic.Prng(seed),
            params.max_search_steps,
        )
        return [tuple(Hop(c.operator, c.start, c.end) for c in route) for route in routes]
