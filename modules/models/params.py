"""Default models params."""

import chain.pb  # noqa: F401

from infera.models.v1 import types_pb2

LAYER_LIMIT = 512  # no params may allow more layers than this


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        max_layers=LAYER_LIMIT,  # layers a model may declare
        max_min_redundancy=16,  # routes a model may demand per job
    )


def validate_params(params: types_pb2.Params) -> None:
    """Raise ``ValueError`` when params are unusable (genesis)."""
    if not 1 <= params.max_layers <= LAYER_LIMIT:
        raise ValueError(f"models max_layers must be 1..{LAYER_LIMIT}")
    if params.max_min_redundancy < 1:
        raise ValueError("models max_min_redundancy must be at least 1")
