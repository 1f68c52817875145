"""Default sharding params."""

import chain.pb  # noqa: F401

from infera.sharding.v1 import types_pb2


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        max_redundancy=16,  # routes one job may ask for
        max_search_steps=300,  # hop tries per selection (backtracking included); >= 256 hops
        max_candidates=256,  # spans one selection may examine (= workers max_spans_per_model)
        gas_per_candidate=100,  # gas per span read and per span scanned by each search step
        max_reputation_factor=2_000_000,  # reputation counts at most 2.0 in the weight
        max_operator_routes_per_block=16,  # routes of one model per operator per block
    )


# Bound on one selection's work: max_search_steps max-flows over at most max_candidates edges.
# 300 x 256 (the defaults) measured ~45 ms own CPU at the worst shape found (README "Bound");
# params whose product is larger could hold the consensus loop past 100 ms (issue 12).
MAX_SEARCH_WORK = 300 * 256


def validate_params(params: types_pb2.Params) -> None:
    """Raise ``ValueError`` when params are unusable (genesis)."""
    for name in (
        "max_redundancy",
        "max_search_steps",
        "max_candidates",
        "max_reputation_factor",
        "max_operator_routes_per_block",
    ):
        if getattr(params, name) < 1:
            raise ValueError(f"sharding {name} must be at least 1")
    work = params.max_search_steps * params.max_candidates
    if work > MAX_SEARCH_WORK:
        raise ValueError(
            f"sharding max_search_steps x max_candidates is {work}, above {MAX_SEARCH_WORK}"
        )
