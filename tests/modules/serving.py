"""Helpers for the models, workers and sharding tests: a chain with small params, message
builders with valid defaults (each test breaks one field), and keeper access for direct calls."""

from __future__ import annotations

import hashlib
import pathlib
from typing import Any

import chain.pb  # noqa: F401

from google.protobuf.message import Message

from chain import crypto
from chain.context import BlockInfo, Context, ExecMode
from infera.base.v1 import coin_pb2
from infera.models.v1 import tx_pb2 as models_tx
from infera.workers.v1 import tx_pb2 as workers_tx
from infera.workers.v1 import types_pb2 as workers_types
from modules.models.logic import compute_merkle_root
from tests.harness import CHAIN_ID, DENOM, Key, TestChain, genesis_app_state, init_chain_request

MIN_STAKE = 1_000
HEARTBEAT_TIMEOUT = 20
UNBONDING_BLOCKS = 3
BYTES_PER_LAYER = 100
STAKE = 10_000
GAS = 2_000_000
FEE = GAS * 25 // 1000  # the minimum at the default gas price (0.025)

WORKERS_PARAMS = {
    "bond_denom": DENOM,
    "min_stake": str(MIN_STAKE),
    "heartbeat_timeout_blocks": str(HEARTBEAT_TIMEOUT),
    "unbonding_blocks": str(UNBONDING_BLOCKS),
    "max_spans_per_worker": 4,
    "max_unbondings_per_block": 2,
}


def make_chain(
    path: pathlib.Path, *, n_accounts: int = 8, workers_params: dict[str, Any] | None = None
) -> TestChain:
    """A chain with funded accounts ``user0..`` and workers params sized for tests."""
    path.mkdir(parents=True, exist_ok=True)
    chain_ = TestChain(path, n_accounts=n_accounts)
    state = genesis_app_state(chain_.keys, chain_.validators)
    state["workers"] = {"params": {**WORKERS_PARAMS, **(workers_params or {})}}
    chain_.app.init_chain(init_chain_request(state))
    chain_.block()
    return chain_


def commitments(count: int, tag: str = "m") -> list[bytes]:
    return [hashlib.sha256(f"{tag}/{i}".encode()).digest() for i in range(count)]


def register_model_msg(owner: Key, model_id: str = "m", num_layers: int = 8, **fields: Any):
    leaves = commitments(num_layers, model_id)
    values: dict[str, Any] = {
        "owner": owner.bech32,
        "id": model_id,
        "family": "llama",
        "num_layers": num_layers,
        "layer_commitments": leaves,
        "weights_root": compute_merkle_root(leaves),
        "bytes_per_layer": BYTES_PER_LAYER,
        "tokenizer_hash": hashlib.sha256(b"tokenizer").digest(),
        "dtype": "float32",
        "price_per_token": "0.5",
        "min_redundancy": 1,
    }
    values.update(fields)
    return models_tx.MsgRegisterModel(**values)


def hardware(memory: int = 8 * BYTES_PER_LAYER, throughput: int = 10, device: str = "cpu"):
    return workers_types.Hardware(device=device, memory_bytes=memory, throughput=throughput)


def runtime(dtype: str = "float32"):
    return workers_types.Runtime(torch_version="2.5.1", transformers_version="4.46.0", dtype=dtype)


def register_worker_msg(operator: Key, *, stake: int = STAKE, denom: str = DENOM, **fields: Any):
    values: dict[str, Any] = {
        "operator": operator.bech32,
        "endpoint": f"{operator.name}.workers.example:7000",
        "hardware": hardware(),
        "runtime": runtime(),
        "encryption_pubkey": hashlib.sha256(operator.name.encode()).digest(),
        "stake": coin_pb2.Coin(denom=denom, amount=str(stake)),
    }
    values.update(fields)
    return workers_tx.MsgRegisterWorker(**values)


def serve_msg(operator: Key, start: int, end: int, model_id: str = "m"):
    return workers_tx.MsgServeSpan(
        operator=operator.bech32, model_id=model_id, start=start, end=end
    )


def stop_msg(operator: Key, start: int, end: int, model_id: str = "m"):
    return workers_tx.MsgStopServing(
        operator=operator.bech32, model_id=model_id, start=start, end=end
    )


def execute(chain_: TestChain, signer: Key, *msgs: Message):
    """Run one tx in its own block; returns its ExecTxResult."""
    return chain_.block([chain_.tx(signer, *msgs, gas=GAS, fee=FEE)]).tx_results[0]


def ok(chain_: TestChain, signer: Key, *msgs: Message):
    result = execute(chain_, signer, *msgs)
    assert result.code == 0, result.log
    return result


def fails(chain_: TestChain, signer: Key, msg: Message, codespace: str, code: int) -> str:
    """Run ``msg`` and check it fails with (codespace, code) leaving only fee and sequence."""
    before = chain_.balance(signer.address)
    result = execute(chain_, signer, msg)
    assert (result.codespace, result.code) == (codespace, code), result.log
    assert chain_.balance(signer.address) == before - FEE
    return result.log


def query(chain_: TestChain, path: str, request: Message, response_class: type[Message]):
    res = chain_.query(path, request)
    assert res.code == 0, res.log
    return response_class.FromString(res.value)


def query_error(chain_: TestChain, path: str, request: Message) -> tuple[str, int]:
    res = chain_.query(path, request)
    assert res.code != 0
    return res.codespace, res.code


def keeper(chain_: TestChain, module: str) -> Any:
    return next(m.keeper for m in chain_.app.modules if m.name == module)


def latest_ctx(chain_: TestChain) -> Context:
    """A context over the committed state, as if executing the next block (no writes kept)."""
    from chain.store import CacheStore

    block = BlockInfo(CHAIN_ID, chain_.height + 1, 0)
    return Context(store=CacheStore(chain_.store.latest()), block=block, mode=ExecMode.FINALIZE)


def pool_balance(chain_: TestChain, name: str) -> int:
    return chain_.balance(crypto.module_address(name))


def setup_model_and_workers(
    chain_: TestChain, spans: list[tuple[int, int]], *, num_layers: int = 8, owner_index: int = 0
) -> list[Key]:
    """Register model "m" and one worker per span (users 1, 2, ...) serving it."""
    owner = chain_.keys[owner_index]
    ok(chain_, owner, register_model_msg(owner, num_layers=num_layers))
    workers = [chain_.keys[index + 1] for index in range(len(spans))]
    txs = [
        chain_.tx(key, register_worker_msg(key), serve_msg(key, start, end), gas=GAS, fee=FEE)
        for key, (start, end) in zip(workers, spans, strict=True)
    ]
    results = chain_.block(txs).tx_results
    assert all(r.code == 0 for r in results), [r.log for r in results]
    return workers


def apply_in_block(chain_: TestChain, action: Any) -> None:
    """Run ``action(ctx)`` (a keeper call another module would make) in the next block's
    end-block, so that its effects are committed like any state change."""
    module = next(m for m in chain_.app.modules if m.name == "workers")
    original = module.end_block

    def end_block(ctx: Context) -> None:
        action(ctx)
        original(ctx)

    module.end_block = end_block  # type: ignore[method-assign]
    try:
        chain_.block()
    finally:
        module.end_block = original  # type: ignore[method-assign]
