"""Route selection as a pure function: routes tile the model, never reuse an operator, follow
the weights, depend only on (candidates, seed), and are found whenever any exist."""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.errors import ChainError
from modules.sharding.logic import (
    Prng,
    compute_layer_coverage,
    compute_routes,
    compute_suggested_span,
    is_completable,
)
from modules.sharding.types import Candidate


def op(i: int) -> bytes:
    return bytes([i]) * 20


def cand(i: int, start: int, end: int, weight: int = 1, speed: int = 1) -> Candidate:
    return Candidate(op(i), start, end, weight, speed)


def seed(i: int) -> bytes:
    return hashlib.sha256(b"seed%d" % i).digest()


def assert_valid(routes, num_layers: int, redundancy: int) -> None:
    assert len(routes) == redundancy
    operators = [h.operator for route in routes for h in route]
    assert len(operators) == len(set(operators)), "an operator appears twice in one job"
    for route in routes:
        assert route[0].start == 0 and route[-1].end == num_layers
        assert all(a.end == b.start for a, b in itertools.pairwise(route))


# -- the PRNG ----------------------------------------------------------------------------------


def test_prng_stream_is_sha256_in_counter_mode():
    rng = Prng(b"s")
    expected = hashlib.sha256(b"s" + (0).to_bytes(8, "big")).digest()
    expected += hashlib.sha256(b"s" + (1).to_bytes(8, "big")).digest()
    assert rng.read(40) + rng.read(24) == expected


def test_prng_randbelow_is_in_range_and_reproducible():
    first = [Prng(b"x").randbelow(1000) for _ in range(3)]
    assert len(set(first)) == 1
    rng = Prng(b"y")
    draws = [rng.randbelow(7) for _ in range(7000)]
    assert set(draws) == set(range(7))
    assert all(800 < count < 1200 for count in Counter(draws).values())
    assert Prng(b"z").randbelow(1) == 0
    with pytest.raises(ValueError):
        Prng(b"z").randbelow(0)


# -- selection ---------------------------------------------------------------------------------


LAYOUT = [
    cand(1, 0, 4, 5),
    cand(2, 4, 8, 5),
    cand(3, 0, 8, 5),
    cand(4, 0, 2, 5),
    cand(5, 2, 8, 5),
    cand(6, 0, 8, 5),
    cand(7, 0, 6, 5),
    cand(8, 6, 8, 5),
]


def test_same_candidates_and_seed_give_the_same_routes():
    one = compute_routes(LAYOUT, 8, 3, Prng(seed(1)), 1000)
    two = compute_routes(list(reversed(LAYOUT)), 8, 3, Prng(seed(1)), 1000)
    assert one == two
    assert_valid(one, 8, 3)


def test_different_seeds_give_different_routes():
    outcomes = {tuple(compute_routes(LAYOUT, 8, 2, Prng(seed(i)), 1000)) for i in range(60)}
    assert len(outcomes) >= 10


def test_every_route_tiles_the_model_and_no_operator_repeats_over_many_seeds():
    for i in range(200):
        assert_valid(compute_routes(LAYOUT, 8, 4, Prng(seed(i)), 1000), 8, 4)


def test_weights_set_the_odds():
    heavy, light = cand(1, 0, 4, weight=3), cand(2, 0, 4, weight=1)
    wins = Counter(
        compute_routes([heavy, light], 4, 1, Prng(seed(i)), 100)[0][0].operator for i in range(800)
    )
    assert 540 <= wins[op(1)] <= 660  # expected 600 (3:1); about 5 standard deviations of room


def test_a_layer_nobody_serves_is_insufficient_coverage():
    with pytest.raises(ChainError) as err:
        compute_routes([cand(1, 0, 3), cand(2, 4, 8)], 8, 1, Prng(b""), 100)
    assert (err.value.codespace, err.value.code) == ("sharding", 5)


def test_too_few_disjoint_routes_is_insufficient_coverage():
    with pytest.raises(ChainError, match="2 disjoint routes over 8 layers"):
        compute_routes([cand(1, 0, 8), cand(2, 0, 4), cand(3, 0, 4)], 8, 2, Prng(b""), 100)
    # Operator 2 could cover [0, 8) only by appearing twice in one route.
    with pytest.raises(ChainError, match="every choice of routes was tried"):
        compute_routes([cand(1, 0, 8), cand(2, 0, 4), cand(2, 4, 8)], 8, 2, Prng(b""), 100)


def test_greedy_trap_is_avoided_by_the_completability_check():
    # Routes {1,2} and {3,4} exist; drawing 5 (the heavy bridge) first would strand both.
    layout = [
        cand(1, 0, 1),
        cand(2, 1, 3),
        cand(3, 0, 2),
        cand(4, 2, 3),
        cand(5, 1, 2, weight=10**6),
    ]
    for i in range(50):
        routes = compute_routes(layout, 3, 2, Prng(seed(i)), 100)
        assert_valid(routes, 3, 2)
        assert op(5) not in {h.operator for r in routes for h in r}


def test_an_operator_with_two_spans_is_used_once_even_when_the_flow_would_use_both():
    # Operator 1 serves [0,1) and [1,2); only one of them may be used in a job.
    layout = [cand(1, 0, 1), cand(1, 1, 2), cand(2, 0, 1), cand(3, 1, 2)]
    for i in range(30):
        routes = compute_routes(layout, 2, 1, Prng(seed(i)), 100)
        assert_valid(routes, 2, 1)
    with pytest.raises(ChainError):
        compute_routes(layout, 2, 2, Prng(b""), 100)


def test_search_budget_is_enforced():
    layout = [cand(1, 0, 1), cand(1, 1, 2), cand(2, 0, 1), cand(3, 1, 2)]
    with pytest.raises(ChainError, match="within 1 search steps"):
        compute_routes(layout, 2, 2, Prng(b""), 1)


def _brute_force_exists(candidates, num_layers: int, redundancy: int) -> bool:
    """Whether ``redundancy`` operator-disjoint tilings exist (exhaustive; tiny inputs only)."""
    tilings = []

    def extend(position, route):
        if position == num_layers:
            tilings.append(route)
            return
        for c in candidates:
            if c.start == position and c.operator not in {h.operator for h in route}:
                extend(c.end, route + [c])

    extend(0, [])
    for combo in itertools.combinations(tilings, redundancy):
        operators = [h.operator for route in combo for h in route]
        if len(operators) == len(set(operators)):
            return True
    return False


@st.composite
def layouts(draw):
    num_layers = draw(st.integers(1, 4))
    spans = draw(
        st.lists(
            st.tuples(
                st.integers(1, 5),
                st.integers(0, num_layers - 1),
                st.integers(1, 4),
                st.integers(1, 9),
            ),
            max_size=9,
        )
    )
    candidates, taken = [], {}
    for operator, start, length, weight in spans:
        end = min(num_layers, start + length)
        if any(s < end and start < e for s, e in taken.get(operator, [])):
            continue  # a worker never serves overlapping spans of one model
        taken.setdefault(operator, []).append((start, end))
        candidates.append(cand(operator, start, end, weight))
    return num_layers, candidates, draw(st.integers(1, 3)), draw(st.binary(max_size=8))


@settings(max_examples=300, deadline=None)
@given(layouts())
def test_routes_are_found_exactly_when_they_exist(layout):
    num_layers, candidates, redundancy, seed_ = layout
    exists = _brute_force_exists(candidates, num_layers, redundancy)
    try:
        routes = compute_routes(candidates, num_layers, redundancy, Prng(seed_), 10_000)
    except ChainError as err:
        assert (err.codespace, err.code) == ("sharding", 5)
        assert not exists
        return
    assert exists
    assert_valid(routes, num_layers, redundancy)
    assert all(h in candidates for route in routes for h in route)


def test_completability_counts_the_route_in_progress():
    layout = [cand(1, 0, 2), cand(2, 2, 4), cand(3, 0, 4)]
    assert is_completable(layout, set(), 0, 2, 4)
    assert is_completable(layout, {op(1)}, 2, 1, 4)  # route at layer 2 + one full route
    assert not is_completable(layout, {op(1), op(3)}, 2, 1, 4)


# -- coverage and suggestion -------------------------------------------------------------------


def test_layer_coverage_sums_speed_and_lists_operators_in_order():
    layers = compute_layer_coverage(4, [cand(2, 0, 2, speed=5), cand(1, 1, 4, speed=7)])
    assert layers == [([op(2)], 5), ([op(1), op(2)], 12), ([op(1)], 7), ([op(1)], 7)]


def test_suggested_span_raises_the_bottleneck():
    assert compute_suggested_span([10, 10, 0, 0, 5, 5], 2, 3) == (2, 4, 3)
    assert compute_suggested_span([10, 10, 0, 0, 5, 5], 6, 3) == (0, 6, 3)
    assert compute_suggested_span([4, 0, 9, 9, 0, 4], 5, 1) == (
        0,
        5,
        1,
    )  # ties: least load, then start
    assert compute_suggested_span([0, 0, 0, 0], 2, 1) == (0, 2, 0)
    assert compute_suggested_span([1, 2, 3], 10, 1) == (0, 3, 2)


def test_worst_backtracking_shape_ends_within_the_default_step_bound():
    # Issue 12's worst shape: 32 operators each with a span on each of 8 layers, r = 16. The
    # flow check stays over-optimistic, so the search runs to max_search_steps; the default
    # bound keeps it at 300 flow checks over 256 candidates (~45 ms measured, README "Bound").
    from modules.sharding.params import MAX_SEARCH_WORK, default_params

    params = default_params()
    assert params.max_search_steps * params.max_candidates <= MAX_SEARCH_WORK
    ops = [hashlib.sha256(b"bench-operator:%d" % i).digest()[:20] for i in range(32)]
    candidates = [
        Candidate(ops[(k + n) % 32], n, n + 1, 1000, 500) for n in range(8) for k in range(32)
    ]
    charged: list[int] = []
    with pytest.raises(ChainError) as err:
        compute_routes(candidates, 8, 16, Prng(b"bench"), params.max_search_steps, charged.append)
    assert (err.value.codespace, err.value.code) == ("sharding", 5)
    assert len(charged) == 1 + params.max_search_steps  # the feasibility check + each step
    assert sum(charged) * params.gas_per_candidate == 301 * 256 * 100


def test_a_full_model_of_single_layer_spans_still_fits_the_default_step_bound():
    # 256 one-layer spans, 16 layers, r = 16: every span is a hop. The joint draws take one
    # step per layer (16 plus the feasibility check); the hop-by-hop fallback would need 256,
    # so the default max_search_steps must stay above that too.
    from modules.sharding.params import default_params

    ops = [hashlib.sha256(b"bench-operator:%d" % i).digest()[:20] for i in range(256)]
    candidates = [
        Candidate(ops[16 * n + k], n, n + 1, 1000, 500) for n in range(16) for k in range(16)
    ]
    charged: list[int] = []
    routes = compute_routes(
        candidates, 16, 16, Prng(b"bench"), default_params().max_search_steps, charged.append
    )
    assert_valid(routes, 16, 16)
    assert len(charged) == 17
    assert default_params().max_search_steps >= 256


def test_params_whose_search_work_exceeds_the_bound_are_refused():
    from modules.sharding.params import MAX_SEARCH_WORK, default_params, validate_params

    params = default_params()
    validate_params(params)
    params.max_search_steps = MAX_SEARCH_WORK // params.max_candidates + 1
    with pytest.raises(ValueError, match="max_search_steps x max_candidates"):
        validate_params(params)
