"""workers messages: register, update, serve/stop a span, heartbeat, unbond."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.errors import ErrInvalidCoins
from chain.events import attr
from chain.tx import Coin, parse_coins
from infera.base.v1 import coin_pb2
from infera.models.v1 import types_pb2 as models_pb2
from infera.workers.v1 import tx_pb2, types_pb2
from modules.workers import events, keys, logic
from modules.workers.errors import (
    ErrInsufficientMemory,
    ErrInvalidSpan,
    ErrModelFull,
    ErrModelRetired,
    ErrNothingToUpdate,
    ErrSpanNotFound,
    ErrSpanOverlap,
    ErrStakeTooLow,
    ErrTooManySpans,
    ErrUnknownModel,
    ErrWorkerExists,
    ErrWorkerNotFound,
    ErrWorkerUnbonding,
    ErrWrongStakeDenom,
)
from modules.workers.keeper import WorkersKeeper


def register_worker(
    ctx: Context, keeper: WorkersKeeper, msg: tx_pb2.MsgRegisterWorker
) -> tx_pb2.MsgRegisterWorkerResponse:
    """Bond stake into ``workers_bonded`` and register a worker (live from this block).

    Fails when: the operator address is malformed; the endpoint is not host:port; the hardware
    names an unknown device or has zero memory or throughput; the runtime has empty or overlong
    versions or an unknown dtype; the encryption key is not 32 bytes; the stake is missing, not
    in the bond denom or below min_stake; the operator already has a worker (unbonding included);
    the operator's balance is too low.
    """
    # verify
    operator = crypto.from_bech32(msg.operator)
    logic.validate_endpoint(msg.endpoint)
    logic.validate_hardware(msg.hardware)
    logic.validate_runtime(msg.runtime)
    logic.validate_encryption_key(msg.encryption_pubkey)
    stake = _parse_stake(msg.stake, "stake", msg.HasField("stake"))
    # load
    params = keeper.get_params(ctx)
    # check
    _check_denom(stake, params)
    if stake.amount < int(params.min_stake):
        raise ErrStakeTooLow(f"stake {stake.amount} is below the minimum {params.min_stake}")
    if keeper.get_worker(ctx, operator) is not None:
        raise ErrWorkerExists(msg.operator)
    # mutate
    keeper.bank.send_coins_to_module(ctx, operator, keys.BONDED_POOL, [stake])
    worker = types_pb2.Worker(
        operator=crypto.to_bech32(operator),
        endpoint=msg.endpoint,
        hardware=msg.hardware,
        runtime=msg.runtime,
        encryption_pubkey=msg.encryption_pubkey,
        status=logic.BONDED,
        bonded=str(stake.amount),
        unbonding="0",
        slashed="0",
        registered_height=ctx.block.height,
        last_heartbeat_height=ctx.block.height,
    )
    keeper.set_worker(ctx, operator, worker)
    if keeper.get_stored_reputation(ctx, operator) is None:
        keeper.set_reputation(ctx, operator, logic.REPUTATION_START)
    # events
    ctx.events.emit(
        events.REGISTER_WORKER,
        attr("worker", worker.operator, index=True),
        attr("endpoint", worker.endpoint),
        attr("stake", f"{stake.amount}{stake.denom}"),
        attr("device", worker.hardware.device),
        attr("memory_bytes", worker.hardware.memory_bytes),
        attr("throughput", worker.hardware.throughput),
    )
    # respond
    return tx_pb2.MsgRegisterWorkerResponse()


def update_worker(
    ctx: Context, keeper: WorkersKeeper, msg: tx_pb2.MsgUpdateWorker
) -> tx_pb2.MsgUpdateWorkerResponse:
    """Replace the declared endpoint, hardware, runtime or key, and/or add stake.

    Fails when: the operator address is malformed; nothing is given; a given field is invalid
    (as in registration); added stake is not in the bond denom; the worker does not exist or is
    unbonding; the new memory no longer fits the served spans; the balance is too low.
    """
    # verify
    operator = crypto.from_bech32(msg.operator)
    changed = _changed_fields(msg)
    if not changed:
        raise ErrNothingToUpdate("give endpoint, hardware, runtime, encryption_pubkey or add_stake")
    add = _parse_stake(msg.add_stake, "add_stake", True) if "add_stake" in changed else None
    # load
    params = keeper.get_params(ctx)
    worker = _load_bonded_worker(ctx, keeper, operator, msg.operator)
    # check
    if add is not None:
        _check_denom(add, params)
    if "hardware" in changed:
        _check_memory(ctx, keeper, list(worker.spans), msg.hardware.memory_bytes)
    # mutate
    if add is not None:
        keeper.bank.send_coins_to_module(ctx, operator, keys.BONDED_POOL, [add])
        worker.bonded = str(int(worker.bonded) + add.amount)
    _apply_declarations(worker, msg, changed)
    keeper.set_worker(ctx, operator, worker)
    # events
    ctx.events.emit(
        events.UPDATE_WORKER,
        attr("worker", worker.operator, index=True),
        attr("fields", ",".join(changed)),
    )
    # respond
    return tx_pb2.MsgUpdateWorkerResponse()


def serve_span(
    ctx: Context, keeper: WorkersKeeper, msg: tx_pb2.MsgServeSpan
) -> tx_pb2.MsgServeSpanResponse:
    """Announce that the worker serves layers [start, end) of a model.

    Fails when: the operator address is malformed; start >= end; the worker does not exist or is
    unbonding; the model does not exist or is retired; end is past the model's last layer; the
    span overlaps a span of the same model the worker serves; the worker serves
    max_spans_per_worker spans; the served spans' memory would exceed the declared memory; the
    model has max_spans_per_model spans and none is weaker (inactive, or less bonded stake)
    than this worker (a weaker one is evicted instead).
    """
    # verify
    operator = crypto.from_bech32(msg.operator)
    if msg.start >= msg.end:
        raise ErrInvalidSpan(f"[{msg.start}, {msg.end}) is empty")
    # load
    params = keeper.get_params(ctx)
    worker = _load_bonded_worker(ctx, keeper, operator, msg.operator)
    model = _load_live_model(ctx, keeper, msg.model_id)
    # check
    if msg.end > model.num_layers:
        raise ErrInvalidSpan(f"[{msg.start}, {msg.end}) is past layer {model.num_layers - 1}")
    if logic.is_overlapping(worker.spans, msg.model_id, msg.start, msg.end):
        raise ErrSpanOverlap(f"{msg.model_id} [{msg.start}, {msg.end})")
    if len(worker.spans) >= params.max_spans_per_worker:
        raise ErrTooManySpans(f"limit {params.max_spans_per_worker}")
    span = types_pb2.Span(model_id=msg.model_id, start=msg.start, end=msg.end)
    spans = [*worker.spans, span]
    _check_memory(ctx, keeper, spans, worker.hardware.memory_bytes)
    evicted = _weakest_if_full(ctx, keeper, params, msg.model_id, int(worker.bonded))
    # mutate
    if evicted is not None:
        _evict(ctx, keeper, msg.model_id, *evicted)
    del worker.spans[:]
    worker.spans.extend(logic.compute_sorted_spans(spans))
    keeper.set_worker(ctx, operator, worker)
    keeper.set_span_index(ctx, msg.model_id, operator, msg.start, msg.end)
    # events
    _emit_span_event(ctx, events.SERVE_SPAN, worker.operator, span)
    # respond
    return tx_pb2.MsgServeSpanResponse()


def stop_serving(
    ctx: Context, keeper: WorkersKeeper, msg: tx_pb2.MsgStopServing
) -> tx_pb2.MsgStopServingResponse:
    """Withdraw one announced span (also for retired models).

    Fails when: the operator address is malformed; the worker does not exist; it does not serve
    exactly this span.
    """
    # verify
    operator = crypto.from_bech32(msg.operator)
    # load
    worker = keeper.get_worker(ctx, operator)
    # check
    if worker is None:
        raise ErrWorkerNotFound(msg.operator)
    index = _find_span(worker, msg.model_id, msg.start, msg.end)
    # mutate
    span = types_pb2.Span()
    span.CopyFrom(worker.spans[index])
    del worker.spans[index]
    keeper.set_worker(ctx, operator, worker)
    keeper.delete_span_index(ctx, msg.model_id, operator, msg.start, msg.end)
    # events
    _emit_span_event(ctx, events.STOP_SERVING, worker.operator, span)
    # respond
    return tx_pb2.MsgStopServingResponse()


def heartbeat(
    ctx: Context, keeper: WorkersKeeper, msg: tx_pb2.MsgHeartbeat
) -> tx_pb2.MsgHeartbeatResponse:
    """Record that the worker is alive at this block (reactivates a silent worker).

    Fails when: the operator address is malformed; the worker does not exist or is unbonding.
    """
    # verify
    operator = crypto.from_bech32(msg.operator)
    # load
    worker = _load_bonded_worker(ctx, keeper, operator, msg.operator)
    # mutate
    worker.last_heartbeat_height = ctx.block.height
    keeper.set_worker(ctx, operator, worker)
    # events
    ctx.events.emit(
        events.HEARTBEAT,
        attr("worker", worker.operator, index=True),
        attr("height", ctx.block.height),
    )
    # respond
    return tx_pb2.MsgHeartbeatResponse()


def unbond_worker(
    ctx: Context, keeper: WorkersKeeper, msg: tx_pb2.MsgUnbondWorker
) -> tx_pb2.MsgUnbondWorkerResponse:
    """Move the whole bonded stake to ``workers_unbonding`` and stop serving every span; the
    stake (less slashes) is paid back in the end-block of height + unbonding_blocks.

    Fails when: the operator address is malformed; the worker does not exist or is already
    unbonding.
    """
    # verify
    operator = crypto.from_bech32(msg.operator)
    # load
    params = keeper.get_params(ctx)
    worker = _load_bonded_worker(ctx, keeper, operator, msg.operator)
    # mutate
    amount = int(worker.bonded)
    if amount > 0:
        coins = [Coin(params.bond_denom, amount)]
        keeper.bank.send_coins_between_modules(ctx, keys.BONDED_POOL, keys.UNBONDING_POOL, coins)
    for span in worker.spans:
        keeper.delete_span_index(ctx, span.model_id, operator, span.start, span.end)
    completion = ctx.block.height + params.unbonding_blocks
    del worker.spans[:]
    worker.status = logic.UNBONDING
    worker.bonded, worker.unbonding = "0", str(int(worker.unbonding) + amount)
    worker.unbonding_completion_height = completion
    keeper.set_worker(ctx, operator, worker)
    keeper.enqueue_unbonding(ctx, completion, operator)
    # events
    ctx.events.emit(
        events.UNBOND_WORKER,
        attr("worker", worker.operator, index=True),
        attr("amount", amount),
        attr("completion_height", completion),
    )
    # respond
    return tx_pb2.MsgUnbondWorkerResponse(completion_height=completion)


# -- steps shared by several messages ----------------------------------------------------------


def _parse_stake(coin: coin_pb2.Coin, field: str, present: bool) -> Coin:
    if not present:
        raise ErrInvalidCoins(f"{field} is required")
    (parsed,) = parse_coins([coin])
    return parsed


def _check_denom(coin: Coin, params: types_pb2.Params) -> None:
    if coin.denom != params.bond_denom:
        raise ErrWrongStakeDenom(f"got {coin.denom}, expected {params.bond_denom}")


def _load_bonded_worker(
    ctx: Context, keeper: WorkersKeeper, operator: bytes, name: str
) -> types_pb2.Worker:
    worker = keeper.get_worker(ctx, operator)
    if worker is None:
        raise ErrWorkerNotFound(name)
    if worker.status != logic.BONDED:
        raise ErrWorkerUnbonding(
            f"{name} completes unbonding at {worker.unbonding_completion_height}"
        )
    return worker


def _load_live_model(ctx: Context, keeper: WorkersKeeper, model_id: str) -> models_pb2.Model:
    model = keeper.models.get_model(ctx, model_id)
    if model is None:
        raise ErrUnknownModel(f"model {model_id!r}")
    if model.retired:
        raise ErrModelRetired(f"model {model_id!r}")
    return model


def _check_memory(
    ctx: Context, keeper: WorkersKeeper, spans: list[types_pb2.Span], memory_bytes: int
) -> None:
    """The spans' memory (from each model's bytes_per_layer) must fit ``memory_bytes``."""
    per_layer = {}
    for model_id in sorted({s.model_id for s in spans}):
        model = keeper.models.get_model(ctx, model_id)
        per_layer[model_id] = model.bytes_per_layer if model is not None else 0
    used = logic.compute_used_memory(spans, per_layer)
    if used > memory_bytes:
        raise ErrInsufficientMemory(f"spans need {used} bytes, {memory_bytes} declared")


def _find_span(worker: types_pb2.Worker, model_id: str, start: int, end: int) -> int:
    for index, span in enumerate(worker.spans):
        if (span.model_id, span.start, span.end) == (model_id, start, end):
            return index
    raise ErrSpanNotFound(f"{model_id} [{start}, {end})")


def _changed_fields(msg: tx_pb2.MsgUpdateWorker) -> list[str]:
    """Names of the fields an update sets, validated, in a fixed order."""
    changed = []
    if msg.endpoint:
        logic.validate_endpoint(msg.endpoint)
        changed.append("endpoint")
    if msg.HasField("hardware"):
        logic.validate_hardware(msg.hardware)
        changed.append("hardware")
    if msg.HasField("runtime"):
        logic.validate_runtime(msg.runtime)
        changed.append("runtime")
    if msg.encryption_pubkey:
        logic.validate_encryption_key(msg.encryption_pubkey)
        changed.append("encryption_pubkey")
    if msg.HasField("add_stake"):
        changed.append("add_stake")
    return changed


def _apply_declarations(
    worker: types_pb2.Worker, msg: tx_pb2.MsgUpdateWorker, changed: list[str]
) -> None:
    if "endpoint" in changed:
        worker.endpoint = msg.endpoint
    if "hardware" in changed:
        worker.hardware.CopyFrom(msg.hardware)
    if "runtime" in changed:
        worker.runtime.CopyFrom(msg.runtime)
    if "encryption_pubkey" in changed:
        worker.encryption_pubkey = msg.encryption_pubkey


def _weakest_if_full(
    ctx: Context, keeper: WorkersKeeper, params: types_pb2.Params, model_id: str, stake: int
) -> tuple[bytes, int, int] | None:
    """None while the model has room; else the span a newcomer bonding ``stake`` displaces:
    an inactive worker's first, else the smallest bonded stake (then address, start). Raises
    ErrModelFull when that span's worker is active and bonds at least ``stake``."""
    limit = params.max_spans_per_model or 256
    spans = list(keeper.iterate_model_spans(ctx, model_id))  # at most the limit (kept so)
    if len(spans) < limit:
        return None

    def strength(span: tuple[bytes, int, int]) -> tuple[int, int, bytes, int]:
        record = keeper.get_worker(ctx, span[0])
        bonded = 0 if record is None else int(record.bonded)
        return (1 if keeper.is_active(ctx, span[0]) else 0, bonded, span[0], span[1])

    weakest = min(spans, key=strength)
    active, bonded, _, _ = strength(weakest)
    if active and bonded >= stake:
        raise ErrModelFull(f"{model_id}: {len(spans)} spans, the weakest bonds {bonded}")
    return weakest


def _evict(
    ctx: Context, keeper: WorkersKeeper, model_id: str, operator: bytes, start: int, end: int
) -> None:
    """Drop one announced span of another worker (MsgServeSpan on a full model)."""
    worker = keeper.get_worker(ctx, operator)
    assert worker is not None  # the span index only names stored workers
    index = _find_span(worker, model_id, start, end)
    span = types_pb2.Span()
    span.CopyFrom(worker.spans[index])
    del worker.spans[index]
    keeper.set_worker(ctx, operator, worker)
    keeper.delete_span_index(ctx, model_id, operator, start, end)
    _emit_span_event(ctx, events.STOP_SERVING, worker.operator, span)


def _emit_span_event(ctx: Context, kind: str, worker: str, span: types_pb2.Span) -> None:
    ctx.events.emit(
        kind,
        attr("worker", worker, index=True),
        attr("model_id", span.model_id, index=True),
        attr("start", span.start),
        attr("end", span.end),
    )
