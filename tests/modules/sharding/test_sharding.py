"""sharding on a chain: coverage counts active workers only, suggestions target the bottleneck,
select_routes follows the contract (determinism, errors) and stake and reputation weigh in."""

from __future__ import annotations

import itertools
from collections import Counter

import chain.pb  # noqa: F401

import pytest

from chain.errors import ChainError
from infera.models.v1 import tx_pb2 as models_tx
from infera.sharding.v1 import query_pb2
from infera.workers.v1 import tx_pb2 as workers_tx
from modules.sharding.types import Hop
from tests.modules.serving import (
    FEE,
    GAS,
    HEARTBEAT_TIMEOUT,
    hardware,
    keeper,
    latest_ctx,
    make_chain,
    ok,
    query,
    query_error,
    register_model_msg,
    register_worker_msg,
    serve_msg,
    setup_model_and_workers,
)

SVC = "/infera.sharding.v1.Query/"


def coverage(node, model_id: str = "m") -> query_pb2.QueryCoverageResponse:
    request = query_pb2.QueryCoverageRequest(model_id=model_id)
    return query(node, SVC + "Coverage", request, query_pb2.QueryCoverageResponse)


def select(node, redundancy: int, seed: bytes, model_id: str = "m"):
    return keeper(node, "sharding").select_routes(latest_ctx(node), model_id, redundancy, seed)


def assert_tiles(routes, num_layers: int) -> None:
    operators = [h.operator for route in routes for h in route]
    assert len(operators) == len(set(operators))
    for route in routes:
        assert route[0].start == 0 and route[-1].end == num_layers
        assert all(a.end == b.start for a, b in itertools.pairwise(route))


# -- coverage ----------------------------------------------------------------------------------


def test_coverage_lists_active_workers_and_summed_measured_speed_per_layer(node):
    a, b = setup_model_and_workers(node, [(0, 4), (2, 8)], num_layers=8)
    cover = coverage(node)
    assert cover.num_layers == 8 and len(cover.layers) == 8
    # Unmeasured workers count 500 each, whatever throughput they declare (10 here).
    assert list(cover.layers[0].workers) == [a.bech32] and cover.layers[0].throughput == 500
    assert sorted(cover.layers[3].workers) == sorted([a.bech32, b.bech32])
    assert cover.layers[3].throughput == 1000
    assert cover.min_throughput == 500 and cover.fully_covered


def test_coverage_shows_gaps(node):
    setup_model_and_workers(node, [(0, 3)], num_layers=8)
    cover = coverage(node)
    assert not cover.fully_covered and cover.min_throughput == 0
    assert [layer.throughput for layer in cover.layers] == [500, 500, 500, 0, 0, 0, 0, 0]


def test_silent_workers_drop_out_of_coverage_and_routes(node):
    (a,) = setup_model_and_workers(node, [(0, 8)], num_layers=8)
    assert [h.operator for h in select(node, 1, b"s")[0]] == [a.address]
    for _ in range(HEARTBEAT_TIMEOUT + 1):
        node.block()
    assert not coverage(node).fully_covered
    with pytest.raises(ChainError, match="disjoint routes"):
        select(node, 1, b"s")
    ok(node, a, workers_tx.MsgHeartbeat(operator=a.bech32))
    assert coverage(node).fully_covered


def test_unbonded_and_stopped_spans_leave_coverage(node):
    a, b = setup_model_and_workers(node, [(0, 8), (0, 8)], num_layers=8)
    ok(node, a, workers_tx.MsgUnbondWorker(operator=a.bech32))
    ok(node, b, workers_tx.MsgStopServing(operator=b.bech32, model_id="m", start=0, end=8))
    assert coverage(node).min_throughput == 0


def test_coverage_of_an_unknown_model_is_an_error(node):
    assert query_error(node, SVC + "Coverage", query_pb2.QueryCoverageRequest(model_id="x")) == (
        "sharding",
        2,
    )


# -- span suggestion ---------------------------------------------------------------------------


def test_suggest_span_targets_the_least_served_layers(node):
    setup_model_and_workers(node, [(0, 4)], num_layers=8)
    request = query_pb2.QuerySuggestSpanRequest(model_id="m", memory_bytes=450, throughput=7)
    res = query(node, SVC + "SuggestSpan", request, query_pb2.QuerySuggestSpanResponse)
    # The declared 7 is ignored: a newcomer counts as unmeasured (500).
    assert (res.start, res.end, res.min_throughput_before, res.min_throughput_after) == (
        4,
        8,
        0,
        500,
    )
    request.memory_bytes = 10_000  # more than the model needs: the whole model
    res = query(node, SVC + "SuggestSpan", request, query_pb2.QuerySuggestSpanResponse)
    assert (res.start, res.end, res.min_throughput_after) == (0, 8, 500)


def test_suggest_span_rejects_memory_below_one_layer(node):
    setup_model_and_workers(node, [(0, 4)], num_layers=8)
    request = query_pb2.QuerySuggestSpanRequest(model_id="m", memory_bytes=99)
    assert query_error(node, SVC + "SuggestSpan", request) == ("sharding", 6)


# -- select_routes -----------------------------------------------------------------------------


def test_select_routes_returns_disjoint_tiling_hops(node):
    setup_model_and_workers(node, [(0, 4), (4, 8), (0, 8), (0, 2), (2, 8), (0, 8)], num_layers=8)
    routes = select(node, 3, b"job-1")
    assert len(routes) == 3 and all(isinstance(h, Hop) for r in routes for h in r)
    assert_tiles(routes, 8)
    assert select(node, 3, b"job-1") == routes  # same state, same seed
    request = query_pb2.QueryRoutesRequest(model_id="m", redundancy=3, seed=b"job-1")
    preview = query(node, SVC + "Routes", request, query_pb2.QueryRoutesResponse)
    assert [[(h.start, h.end) for h in r.hops] for r in preview.routes] == [
        [(h.start, h.end) for h in r] for r in routes
    ]


def test_select_routes_is_identical_on_two_nodes_fed_the_same_blocks(tmp_path):
    one, two = make_chain(tmp_path / "one"), make_chain(tmp_path / "two")
    for node in (one, two):
        setup_model_and_workers(node, [(0, 8), (0, 3), (3, 8), (0, 5), (5, 8)], num_layers=8)
    assert one.store.last_app_hash == two.store.last_app_hash
    for i in range(10):
        assert select(one, 2, b"%d" % i) == select(two, 2, b"%d" % i)
    one.store.close()
    two.store.close()


def test_select_routes_rejects_too_little_coverage(node):
    setup_model_and_workers(node, [(0, 8), (0, 4)], num_layers=8)
    with pytest.raises(ChainError) as err:
        select(node, 2, b"s")
    assert (err.value.codespace, err.value.code) == ("sharding", 5)
    request = query_pb2.QueryRoutesRequest(model_id="m", redundancy=2, seed=b"s")
    assert query_error(node, SVC + "Routes", request) == ("sharding", 5)


def test_select_routes_rejects_unknown_and_retired_models_and_bad_redundancy(node):
    setup_model_and_workers(node, [(0, 8)], num_layers=8)
    for model_id, redundancy, code in (("nope", 1, 2), ("m", 0, 4), ("m", 17, 4)):
        with pytest.raises(ChainError) as err:
            select(node, redundancy, b"s", model_id=model_id)
        assert (err.value.codespace, err.value.code) == ("sharding", code)
    owner = node.keys[0]
    ok(node, owner, models_tx.MsgRetireModel(owner=owner.bech32, id="m"))
    with pytest.raises(ChainError) as err:
        select(node, 1, b"s")
    assert (err.value.codespace, err.value.code) == ("sharding", 3)


def test_stake_and_bounded_reputation_weigh_the_choice_declared_throughput_does_not(node):
    owner = node.keys[0]
    ok(node, owner, register_model_msg(owner, num_layers=4))
    big, small = node.keys[1], node.keys[2]
    txs = [
        node.tx(
            big, register_worker_msg(big, stake=30_000), serve_msg(big, 0, 4), gas=GAS, fee=FEE
        ),
        node.tx(
            small,
            register_worker_msg(small, hardware=hardware(throughput=30)),
            serve_msg(small, 0, 4),
            gas=GAS,
            fee=FEE,
        ),
    ]
    assert [r.code for r in node.block(txs).tx_results] == [0, 0]
    # Weights: big 30_000 x 1.0, small 10_000 x 1.0 (its declared 3x throughput counts for
    # nothing): 3:1 for big.
    wins = Counter(select(node, 1, b"%d" % i)[0][0].operator for i in range(400))
    assert 260 <= wins[big.address] <= 340  # expected 300
    # Halving big's reputation: 15_000 against 10_000, expected 240 of 400.
    workers = keeper(node, "workers")
    ctx = latest_ctx(node)
    workers.adjust_reputation(ctx, big.address, 1, 2)
    sharding = keeper(node, "sharding")
    wins = Counter(
        sharding.select_routes(ctx, "m", 1, b"%d" % i)[0][0].operator for i in range(400)
    )
    assert 200 <= wins[big.address] <= 280
    # Small's reputation raised to the workers' maximum (10) counts only as 2.0: 15_000 against
    # 20_000, expected 171 of 400 for big.
    workers.adjust_reputation(ctx, small.address, 10, 1)
    wins = Counter(
        sharding.select_routes(ctx, "m", 1, b"%d" % i)[0][0].operator for i in range(400)
    )
    assert 131 <= wins[big.address] <= 211


def test_params_query_returns_defaults(node):
    res = query(node, SVC + "Params", query_pb2.QueryParamsRequest(), query_pb2.QueryParamsResponse)
    assert (res.params.max_redundancy, res.params.max_search_steps) == (16, 300)
