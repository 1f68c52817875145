"""workers genesis: params, workers (with their spans), reputations and the burned total.

Every worker is checked as the messages check it; the bank genesis must fund the two module
accounts with exactly the workers' bonded and unbonding totals (run after bank and models).
"""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain import crypto
from chain.context import Context
from chain.errors import ChainError
from chain.text import parse_uint
from infera.workers.v1 import genesis_pb2, types_pb2
from modules.workers import invariants, logic
from modules.workers.keeper import WorkersKeeper
from modules.workers.params import default_params, validate_params


def init_genesis(ctx: Context, keeper: WorkersKeeper, data: dict[str, Any]) -> None:
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    params = genesis.params if genesis.HasField("params") else default_params()
    validate_params(params)
    keeper.set_params(ctx, params)
    for worker in genesis.workers:
        try:
            _load_worker(ctx, keeper, worker)
        except ChainError as err:
            raise ValueError(f"genesis worker {worker.operator!r}: {err.log}") from None
    for reputation in genesis.reputations:
        if not logic.REPUTATION_MIN <= reputation.value <= logic.REPUTATION_MAX:
            raise ValueError(f"genesis reputation of {reputation.operator} is out of range")
        keeper.set_reputation(ctx, crypto.from_bech32(reputation.operator), reputation.value)
    keeper.set_burned(ctx, parse_uint(genesis.burned or "0"))
    broken = invariants.check_invariants(ctx, keeper)
    if broken:
        raise ValueError("workers genesis: " + "; ".join(broken))


def _load_worker(ctx: Context, keeper: WorkersKeeper, worker: types_pb2.Worker) -> None:
    operator = crypto.from_bech32(worker.operator)
    if keeper.get_worker(ctx, operator) is not None:
        raise ValueError(f"genesis worker {worker.operator} listed twice")
    logic.validate_endpoint(worker.endpoint)
    logic.validate_hardware(worker.hardware)
    logic.validate_runtime(worker.runtime)
    logic.validate_encryption_key(worker.encryption_pubkey)
    if worker.status not in (logic.BONDED, logic.UNBONDING):
        raise ValueError(f"genesis worker {worker.operator} has no status")
    _check_spans(ctx, keeper, worker)
    worker.operator = crypto.to_bech32(operator)
    worker.bonded, worker.unbonding = (
        str(parse_uint(worker.bonded or "0")),  # canonical, ASCII digits only
        str(parse_uint(worker.unbonding or "0")),
    )
    worker.slashed = str(parse_uint(worker.slashed or "0"))
    keeper.set_worker(ctx, operator, worker)
    for span in worker.spans:
        keeper.set_span_index(ctx, span.model_id, operator, span.start, span.end)
    if worker.status == logic.UNBONDING:
        keeper.enqueue_unbonding(ctx, worker.unbonding_completion_height, operator)


def _check_spans(ctx: Context, keeper: WorkersKeeper, worker: types_pb2.Worker) -> None:
    per_layer = {}
    for index, span in enumerate(worker.spans):
        model = keeper.models.get_model(ctx, span.model_id)
        if model is None or not span.start < span.end <= model.num_layers:
            raise ValueError(f"genesis worker {worker.operator}: bad span {span.model_id}")
        if logic.is_overlapping(worker.spans[:index], span.model_id, span.start, span.end):
            raise ValueError(f"genesis worker {worker.operator}: overlapping spans")
        per_layer[span.model_id] = model.bytes_per_layer
    if logic.compute_used_memory(worker.spans, per_layer) > worker.hardware.memory_bytes:
        raise ValueError(f"genesis worker {worker.operator}: spans exceed memory")
    sorted_spans = logic.compute_sorted_spans(worker.spans)
    del worker.spans[:]
    worker.spans.extend(sorted_spans)


def export_genesis(ctx: Context, keeper: WorkersKeeper) -> dict[str, Any]:
    genesis = genesis_pb2.GenesisState(
        params=keeper.get_params(ctx),
        workers=[w for _, w in keeper.iterate_workers(ctx)],
        reputations=[
            genesis_pb2.Reputation(operator=crypto.to_bech32(op), value=value)
            for op, value in keeper.iterate_reputations(ctx)
        ],
        burned=str(keeper.get_burned(ctx)),
    )
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
