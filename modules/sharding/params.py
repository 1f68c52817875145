"""Default sharding params."""

import chain.pb  # noqa: F401

from infera.sharding.v1 import types_pb2


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        max_redundancy=16,  # routes one job may ask for
        max_search_steps=1_000,  # hop tries per selection (backtracking included)
    )


def validate_params(params: types_pb2.Params) -> None:
    """Raise ``ValueError`` when params are unusable (genesis)."""
    if params.max_redundancy < 1 or params.max_search_steps < 1:
        raise ValueError("sharding max_redundancy and max_search_steps must be at least 1")
