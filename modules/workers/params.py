"""Default workers params."""

import chain.pb  # noqa: F401

from chain.text import is_uint
from infera.workers.v1 import types_pb2

BOND_DENOM = "uinfera"


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        bond_denom=BOND_DENOM,
        min_stake="1000000",  # 1 INFERA
        heartbeat_timeout_blocks=100,  # about 10 minutes at 6 s blocks
        unbonding_blocks=14_400,  # about one day at 6 s blocks
        max_spans_per_worker=16,
        max_unbondings_per_block=64,
        max_spans_per_model=256,  # = sharding max_candidates
    )


def validate_params(params: types_pb2.Params) -> None:
    """Raise ``ValueError`` when params are unusable (genesis)."""
    if not params.bond_denom:
        raise ValueError("workers bond_denom is empty")
    if not is_uint(params.min_stake) or int(params.min_stake) < 1:
        raise ValueError(f"workers min_stake must be a positive integer, got {params.min_stake!r}")
    for name in (
        "heartbeat_timeout_blocks",
        "unbonding_blocks",
        "max_spans_per_worker",
        "max_unbondings_per_block",
    ):
        if getattr(params, name) < 1:
            raise ValueError(f"workers {name} must be at least 1")
