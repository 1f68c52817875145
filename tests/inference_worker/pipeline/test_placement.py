"""Placement rules (pure): span splits, span choice, replacements and stall timeouts."""

from __future__ import annotations

import pytest

from inference_worker.pipeline.placement import (
    HopSpec,
    PlacementError,
    check_route,
    choose_replacement,
    choose_span,
    progress_timeouts,
    split_layers,
)


def test_split_layers_is_proportional_and_tiles_the_model():
    assert split_layers(30, [1, 1, 1]) == [(0, 10), (10, 20), (20, 30)]
    assert split_layers(30, [2, 1]) == [(0, 20), (20, 30)]
    assert split_layers(5, [1, 1, 1]) == [(0, 2), (2, 3), (3, 5)]
    assert split_layers(3, [100, 1, 1]) == [(0, 1), (1, 2), (2, 3)]  # every hop keeps a layer


@pytest.mark.parametrize("weights", [[], [1, 0], [1, 1, 1, 1]])
def test_split_layers_rejects_impossible_requests(weights):
    with pytest.raises(PlacementError):
        split_layers(3, weights)


def test_choose_span_picks_the_least_covered_window():
    assert choose_span(6, [3, 3, 0, 0, 1, 2], 2) == (2, 4)
    assert choose_span(4, [1, 1, 1, 1], 2) == (0, 2)  # ties: lowest start
    assert choose_span(4, [0, 0, 0, 0], 9) == (0, 4)  # capacity above the model: everything


def test_choose_span_rejects_a_coverage_of_the_wrong_length():
    with pytest.raises(PlacementError):
        choose_span(4, [0, 0], 2)


FAILED = HopSpec("w1", "h:1", 1, 3)


def test_choose_replacement_takes_the_first_usable_candidate_of_the_same_span():
    candidates = [
        HopSpec("w9", "h:9", 1, 2),  # another span
        HopSpec("w1", "h:5", 1, 3),  # the failed worker at another endpoint
        HopSpec("w2", "h:2", 1, 3),  # already on the route
        HopSpec("w3", "h:3", 1, 3),
        HopSpec("w4", "h:4", 1, 3),
    ]
    assert choose_replacement(FAILED, candidates, exclude_workers={"w2"}) == candidates[3]
    assert (
        choose_replacement(FAILED, candidates, exclude_workers={"w2"}, exclude_endpoints={"h:3"})
        == candidates[4]
    )


def test_choose_replacement_gives_none_when_no_candidate_serves_the_span():
    assert choose_replacement(FAILED, [HopSpec("w9", "h:9", 0, 3)]) is None


def test_progress_timeouts_grow_toward_the_first_hop():
    assert progress_timeouts(3, 1.5) == [3.0, 1.5, 0.0]
    assert progress_timeouts(1, 2.0) == [0.0]


def test_check_route_accepts_a_tiling_and_rejects_gaps_and_short_routes():
    check_route([HopSpec("a", "x", 0, 2), HopSpec("b", "y", 2, 5)], 5)
    with pytest.raises(PlacementError):
        check_route([HopSpec("a", "x", 0, 2), HopSpec("b", "y", 3, 5)], 5)
    with pytest.raises(PlacementError):
        check_route([HopSpec("a", "x", 0, 2)], 5)
    with pytest.raises(PlacementError):
        check_route([], 5)
