"""Random sequences of worker messages (and slashes) never let a worker's spans exceed its
memory, keep the stake pools equal to the worker records, and conserve supply up to burns."""

from __future__ import annotations

import pathlib
import tempfile

import chain.pb  # noqa: F401

from hypothesis import given, settings
from hypothesis import strategies as st

from infera.models.v1 import tx_pb2 as models_tx
from infera.workers.v1 import tx_pb2
from modules.workers import invariants
from tests.modules.serving import (
    FEE,
    GAS,
    apply_in_block,
    hardware,
    keeper,
    latest_ctx,
    make_chain,
    register_model_msg,
    register_worker_msg,
    serve_msg,
    stop_msg,
)

MODELS = {"a": (6, 100), "b": (4, 250)}  # id -> (layers, bytes per layer)
ACTORS = 2  # users 1..2 act as workers; user0 owns the models

actor = st.integers(1, ACTORS)
model = st.sampled_from(sorted(MODELS))
# sampled_from draws evenly (integers() leans on its bounds); invalid values come last.
memory = st.sampled_from([450, 100, 250, 300, 500, 750, 900, 99, 0])
stake = st.sampled_from([5_000, 1_000, 20_000, 999])
layer, length = st.sampled_from([0, 1, 2, 3, 4, 5]), st.sampled_from([1, 2, 3, 4, 6, 0])
operations = st.one_of(
    st.tuples(st.just("register"), actor, memory, stake),
    st.tuples(st.just("serve"), actor, model, layer, length),
    st.tuples(st.just("serve"), actor, model, layer, length),
    st.tuples(st.just("serve"), actor, model, layer, length),
    st.tuples(st.just("stop"), actor, model, layer, length),
    st.tuples(st.just("stop_served"), actor, st.integers(0, 3)),
    st.tuples(st.just("memory"), actor, memory),
    st.tuples(st.just("unbond"), actor),
    st.tuples(st.just("slash"), actor, st.sampled_from(["0.01", "0.5", "1"])),
    st.tuples(st.just("retire"), model),
    st.tuples(
        st.just("idle"),
    ),
)


def _message(node, operation):
    kind, *args = operation
    if kind == "retire":
        owner = node.keys[0]
        return owner, models_tx.MsgRetireModel(owner=owner.bech32, id=args[0])
    key = node.keys[args[0]]
    if kind == "register":
        return key, register_worker_msg(key, stake=args[2], hardware=hardware(memory=args[1]))
    if kind == "serve":
        return key, serve_msg(key, args[2], args[2] + args[3], model_id=args[1])
    if kind == "stop":
        return key, stop_msg(key, args[2], args[2] + args[3], model_id=args[1])
    if kind == "stop_served":
        record = keeper(node, "workers").get_worker(latest_ctx(node), key.address)
        if record is None or not record.spans:
            return None
        span = record.spans[args[1] % len(record.spans)]
        return key, stop_msg(key, span.start, span.end, model_id=span.model_id)
    if kind == "memory":
        return key, tx_pb2.MsgUpdateWorker(operator=key.bech32, hardware=hardware(memory=args[1]))
    return key, tx_pb2.MsgUnbondWorker(operator=key.bech32)


def _run(node, operation) -> None:
    kind, *args = operation
    if kind == "idle":
        node.block()
    elif kind == "slash":
        workers = keeper(node, "workers")
        address = node.keys[args[0]].address
        apply_in_block(node, lambda ctx: workers.slash(ctx, address, args[1], "test"))
    else:
        signed = _message(node, operation)
        if signed is None:
            node.block()
            return
        key, msg = signed
        result = node.block([node.tx(key, msg, gas=GAS, fee=FEE)]).tx_results[0]
        assert result.code != 1, result.log  # failures are classified, never internal errors


def _check(node, genesis_supply: int) -> None:
    ctx = latest_ctx(node)
    workers, bank = keeper(node, "workers"), keeper(node, "bank")
    assert invariants.check_invariants(ctx, workers) == []
    for _, record in workers.iterate_workers(ctx):
        used = sum((s.end - s.start) * MODELS[s.model_id][1] for s in record.spans)
        assert used <= record.hardware.memory_bytes
    supply = bank.get_supply(ctx, "uinfera")
    assert sum(coin.amount for _, coin in bank.iterate_balances(ctx)) == supply
    assert supply + workers.get_burned(ctx) == genesis_supply


@settings(max_examples=40, deadline=None)
@given(st.lists(memory, min_size=ACTORS, max_size=ACTORS), st.lists(operations, max_size=16))
def test_random_worker_histories_respect_memory_and_conserve_supply(memories, history):
    with tempfile.TemporaryDirectory() as tmp:
        node = make_chain(pathlib.Path(tmp) / "node", workers_params={"unbonding_blocks": "2"})
        owner = node.keys[0]
        for model_id, (layers, per_layer) in MODELS.items():
            msg = register_model_msg(
                owner, model_id=model_id, num_layers=layers, bytes_per_layer=per_layer
            )
            assert node.block([node.tx(owner, msg, gas=GAS, fee=FEE)]).tx_results[0].code == 0
        genesis_supply = node.supply()
        starts = [("register", i + 1, m, 5_000) for i, m in enumerate(memories)]
        for operation in starts + history:
            _run(node, operation)
            _check(node, genesis_supply)
        node.store.close()
