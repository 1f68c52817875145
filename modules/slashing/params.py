"""Default slashing params (the Cosmos Hub's, but a shorter window)."""

import chain.pb  # noqa: F401

from chain.fixed import ONE, Decimal
from infera.slashing.v1 import types_pb2

MAX_WINDOW = 100_000  # the missed-bit keys per validator are bounded by the window


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        signed_blocks_window=1000,
        min_signed_per_window="0.5",
        downtime_jail_duration_ns=600 * 10**9,  # 10 minutes
        slash_fraction_downtime="0.0001",  # 0.01 %
    )


def validate_params(params: types_pb2.Params) -> None:
    """Raise ``ValueError`` when params are unusable (genesis, governance)."""
    if not 1 <= params.signed_blocks_window <= MAX_WINDOW:
        raise ValueError(f"signed_blocks_window must be 1..{MAX_WINDOW}")
    for name in ("min_signed_per_window", "slash_fraction_downtime"):
        if Decimal.parse(getattr(params, name)).raw > ONE:
            raise ValueError(f"{name} must be a decimal in [0, 1]")
    if params.downtime_jail_duration_ns < 0:
        raise ValueError("downtime_jail_duration_ns must be >= 0")
