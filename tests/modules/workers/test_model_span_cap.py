"""A model holds at most max_spans_per_model announced spans, so route selection's candidate
list stays bounded: when full, a newcomer with more bonded stake evicts the weakest span (an
inactive worker's first), and one with no more stake than the weakest is refused. Min-stake
Sybils cannot lock a model's candidate list (and so its routes) against honest workers."""

from __future__ import annotations

import chain.pb  # noqa: F401

from infera.workers.v1 import tx_pb2 as workers_tx
from tests.modules.serving import (
    HEARTBEAT_TIMEOUT,
    keeper,
    latest_ctx,
    make_chain,
    ok,
    register_model_msg,
    register_worker_msg,
    serve_msg,
)


def _spans(node) -> list[tuple[bytes, int, int]]:
    return list(keeper(node, "workers").iterate_model_spans(latest_ctx(node), "m"))


def _chain(tmp_path):
    node = make_chain(tmp_path / "node", workers_params={"max_spans_per_model": 2})
    owner = node.keys[0]
    ok(node, owner, register_model_msg(owner))
    return node


def test_a_full_model_refuses_a_span_that_is_not_stronger_than_the_weakest(tmp_path):
    node = _chain(tmp_path)
    a, b, c = node.keys[1:4]
    ok(node, a, register_worker_msg(a, stake=5_000), serve_msg(a, 0, 8))
    ok(node, b, register_worker_msg(b, stake=7_000), serve_msg(b, 0, 8))
    ok(node, c, register_worker_msg(c, stake=5_000))
    result = node.block([node.tx(c, serve_msg(c, 0, 8), gas=2_000_000, fee=50_000)]).tx_results[0]
    assert (result.codespace, result.code) == ("workers", 19)
    assert sorted(op for op, _, _ in _spans(node)) == sorted([a.address, b.address])


def test_a_stronger_newcomer_evicts_the_weakest_span_of_a_full_model(tmp_path):
    node = _chain(tmp_path)
    a, b, c = node.keys[1:4]
    ok(node, a, register_worker_msg(a, stake=5_000), serve_msg(a, 0, 8))
    ok(node, b, register_worker_msg(b, stake=7_000), serve_msg(b, 0, 8))
    result = ok(node, c, register_worker_msg(c, stake=6_000), serve_msg(c, 0, 8))
    assert sorted(op for op, _, _ in _spans(node)) == sorted([b.address, c.address])
    evicted = keeper(node, "workers").get_worker(latest_ctx(node), a.address)
    assert list(evicted.spans) == []  # the record agrees with the index
    kinds = [e.type for e in result.events]
    assert "stop_serving" in kinds


def test_an_inactive_workers_span_goes_first_whatever_its_stake(tmp_path):
    node = _chain(tmp_path)
    a, b, c = node.keys[1:4]
    ok(node, a, register_worker_msg(a, stake=50_000), serve_msg(a, 0, 8))
    for _ in range(HEARTBEAT_TIMEOUT + 1):
        node.block()
    ok(node, b, register_worker_msg(b, stake=7_000), serve_msg(b, 0, 8))
    ok(node, c, register_worker_msg(c, stake=2_000), serve_msg(c, 0, 8))  # a is silent
    assert sorted(op for op, _, _ in _spans(node)) == sorted([b.address, c.address])
    ok(node, a, workers_tx.MsgHeartbeat(operator=a.bech32))
