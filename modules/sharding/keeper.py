"""sharding keeper: params, and the reads other modules and queries use (route selection,
coverage). Sharding stores no coverage of its own: it reads the workers' span index."""

from __future__ import annotations

import weakref

import chain.pb  # noqa: F401

from chain.context import Context
from chain.errors import ChainError
from chain.gas import INFINITE_GAS, GasMeter
from infera.models.v1 import types_pb2 as models_pb2
from infera.sharding.v1 import types_pb2
from infera.workers.v1 import types_pb2 as workers_pb2
from modules.sharding import keys, logic
from modules.sharding.errors import (
    ErrInsufficientCoverage,
    ErrInvalidPrecision,
    ErrInvalidRedundancy,
    ErrModelRetired,
    ErrTooManyCandidates,
    ErrTxSearchBudgetExceeded,
    ErrUnknownModel,
)
from modules.sharding.expected import ModelsKeeper, WorkersKeeper
from modules.sharding.types import Candidate, Hop, Route

# Per-tx bound on route selection work (issue 12): the candidates scanned by every flow check
# of every selection one tx runs (several MsgSubmitJob, several precision classes each) may sum
# to at most this many. ~0.6-0.7 us of CPU per candidate scanned (README "Bound"), so a tx holds
# the consensus loop for at most ~85 ms on selections whatever its gas limit. Counted per gas
# meter (the runner makes one per tx, shared by all its messages and branches); unmetered
# contexts (end-block assignment, queries) are not txs and are bounded per selection only.
MAX_TX_SEARCH_WORK = 120_000
_tx_search_work: weakref.WeakKeyDictionary[GasMeter, int] = weakref.WeakKeyDictionary()


def _charge_search(ctx: Context, scanned: int, gas_per_candidate: int) -> None:
    """Gas for one flow check over ``scanned`` candidates, and the tx's search budget."""
    ctx.gas.consume(scanned * gas_per_candidate, "route selection: search step")
    if ctx.gas.limit == INFINITE_GAS:
        return
    total = _tx_search_work.get(ctx.gas, 0) + scanned
    if total > MAX_TX_SEARCH_WORK:
        raise ErrTxSearchBudgetExceeded(
            f"{total} candidates scanned by this tx's route selections, above {MAX_TX_SEARCH_WORK}"
        )
    _tx_search_work[ctx.gas] = total


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

    def get_operator_route_cap(self, ctx: Context) -> int:
        """Most routes of one model one operator may hold among one block's assignments."""
        return self.get_params(ctx).max_operator_routes_per_block

    def get_candidates(
        self,
        ctx: Context,
        model_id: str,
        *,
        precision: str = "",
    ) -> list[Candidate]:
        """Announced spans of ``model_id`` whose workers are active now (and declare the dtype
        ``precision``, when given), with their weights. Metered: every span
        read costs ``gas_per_candidate``; more than ``max_candidates`` spans raise
        ErrTooManyCandidates (the work is bounded whatever the gas limit)."""
        params = self.get_params(ctx)
        out: list[Candidate] = []
        weighed: dict[bytes, tuple[int, int] | None] = {}  # operator -> (weight, speed)
        for examined, (operator, start, end) in enumerate(
            self.workers.iterate_model_spans(ctx, model_id), start=1
        ):
            if examined > params.max_candidates:
                raise ErrTooManyCandidates(f"model {model_id!r}: over {params.max_candidates}")
            ctx.gas.consume(params.gas_per_candidate, "route selection: candidate")
            if operator not in weighed:
                weighed[operator] = self._weigh(ctx, operator, params, precision)
            found = weighed[operator]
            if found is not None:
                out.append(Candidate(operator, start, end, found[0], found[1]))
        return out

    def _weigh(
        self, ctx: Context, operator: bytes, params: types_pb2.Params, precision: str
    ) -> tuple[int, int] | None:
        """(selection weight, measured speed) of an active worker of the class, else None."""
        worker = self.workers.get_worker(ctx, operator)
        if worker is None or not self.workers.is_active(ctx, operator):
            return None
        if precision and worker.runtime.dtype != precision:
            return None
        weight = logic.compute_weight(
            int(worker.bonded),
            self.workers.get_reputation(ctx, operator),
            params.max_reputation_factor,
        )
        return weight, compute_speed(worker)

    def select_job_routes(
        self,
        ctx: Context,
        model_id: str,
        redundancy: int,
        seed: bytes,
        *,
        precision: str = "",
    ) -> tuple[str, list[Route]]:
        """(precision class, routes) of a job: ``redundancy`` routes over active workers of ONE
        class, each tiling [0, num_layers), no operator twice, drawn by stake x bounded
        reputation from a PRNG seeded with ``seed``; deterministic in (state, seed). The class
        is ``precision`` (which the model must allow) or else the first of the model's classes
        that can give the routes. Raises ErrUnknownModel, ErrModelRetired,
        ErrInvalidRedundancy, ErrInvalidPrecision, ErrTooManyCandidates,
        ErrInsufficientCoverage or, in a tx, ErrTxSearchBudgetExceeded (``_charge_search``)."""
        params = self.get_params(ctx)
        model = self.get_model(ctx, model_id)
        if model.retired:
            raise ErrModelRetired(f"model {model_id!r}")
        if not 1 <= redundancy <= params.max_redundancy:
            raise ErrInvalidRedundancy(f"{redundancy}, expected 1..{params.max_redundancy}")
        classes = list(model.precision_classes) or [model.dtype]
        if precision and precision not in classes:
            raise ErrInvalidPrecision(f"{precision!r}, model {model_id!r} allows {classes}")
        failure: ChainError = ErrInsufficientCoverage(f"model {model_id!r}")
        for name in [precision] if precision else classes:
            candidates = self.get_candidates(ctx, model_id, precision=name)
            try:
                routes = logic.compute_routes(
                    candidates,
                    model.num_layers,
                    redundancy,
                    logic.Prng(seed),
                    params.max_search_steps,
                    charge=lambda n: _charge_search(ctx, n, params.gas_per_candidate),
                )
            except ChainError as err:
                if err.kind != ErrInsufficientCoverage:
                    raise
                failure = err
                continue
            return name, [tuple(Hop(c.operator, c.start, c.end) for c in r) for r in routes]
        raise failure

    def select_routes(
        self,
        ctx: Context,
        model_id: str,
        redundancy: int,
        seed: bytes,
        *,
        precision: str = "",
    ) -> list[Route]:
        """The routes of ``select_job_routes`` (same rules and errors), without the class."""
        return self.select_job_routes(ctx, model_id, redundancy, seed, precision=precision)[1]


def compute_speed(worker: workers_pb2.Worker) -> int:
    """Measured speed score for placement, 0..1000 (SPEED_UNMEASURED before any commit)."""
    return worker.speed if worker.speed_samples else logic.SPEED_UNMEASURED
