"""Routes of a split job tile only the served layers [k, L - k') (docs/split-jobs.md)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.errors import ChainError
from modules.sharding.logic import Prng, compute_routes, compute_served_routes
from modules.sharding.types import Candidate

LAYERS = 8


def cand(i: int, start: int, end: int, weight: int = 1) -> Candidate:
    return Candidate(bytes([i]) * 20, start, end, weight, 1)


def seed(i: int) -> bytes:
    return hashlib.sha256(b"split%d" % i).digest()


def test_split_routes_tile_the_served_window_and_skip_spans_crossing_it():
    candidates = [
        cand(1, 0, 4), cand(2, 4, 8),  # a public layout: crosses the window's edges
        cand(3, 1, 4), cand(4, 4, 7), cand(5, 1, 3), cand(6, 3, 7), cand(7, 1, 7),
    ]  # fmt: skip
    for i in range(20):
        routes = compute_served_routes(candidates, (1, 7), 2, Prng(seed(i)), 300)
        operators = [h.operator for r in routes for h in r]
        assert len(operators) == len(set(operators))
        for route in routes:
            assert route[0].start == 1 and route[-1].end == 7
            assert all(a.end == b.start for a, b in zip(route, route[1:], strict=False))
            assert all(h.operator not in (cand(1, 0, 4).operator, cand(2, 4, 8).operator)
                       for h in route)  # fmt: skip


def test_split_routes_equal_the_plain_search_on_the_shifted_layout():
    inside = [cand(3, 1, 4), cand(4, 4, 7), cand(5, 1, 3), cand(6, 3, 7), cand(7, 1, 7)]
    shifted = [Candidate(c.operator, c.start - 1, c.end - 1, c.weight, c.speed) for c in inside]
    plain = compute_routes(shifted, 6, 2, Prng(seed(0)), 300)
    split = compute_served_routes(inside, (1, 7), 2, Prng(seed(0)), 300)
    assert [[(h.operator, h.start + 1) for h in r] for r in plain] == [
        [(h.operator, h.start) for h in r] for r in split
    ]


def test_a_window_nobody_tiles_or_an_empty_window_has_no_routes():
    with pytest.raises(ChainError):
        compute_served_routes([cand(1, 0, 4), cand(2, 4, 8)], (1, 7), 1, Prng(seed(0)), 300)
    with pytest.raises(ChainError):
        compute_served_routes([cand(1, 1, 7)], (3, 3), 1, Prng(seed(0)), 300)


spans = st.tuples(st.integers(0, LAYERS - 1), st.integers(1, LAYERS)).filter(lambda s: s[0] < s[1])


@settings(max_examples=50, deadline=None)
@given(
    layout=st.lists(spans, min_size=0, max_size=10),
    window=spans,
    redundancy=st.integers(1, 3),
    n=st.integers(0, 10**6),
)
def test_split_routes_are_valid_or_refused_with_a_typed_error(layout, window, redundancy, n):
    candidates = [cand(i + 1, a, b) for i, (a, b) in enumerate(layout)]
    try:
        routes = compute_served_routes(candidates, window, redundancy, Prng(seed(n)), 200)
    except ChainError:
        return
    assert len(routes) == redundancy
    for route in routes:
        assert route[0].start == window[0] and route[-1].end == window[1]
        assert all(a.end == b.start for a, b in zip(route, route[1:], strict=False))
