"""Pure liveness rules."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.fixed import Decimal
from infera.slashing.v1 import types_pb2

# CometBFT applies a validator update returned at height H from H + 2 on, and the last commit
# of block H holds votes of H - 1: the stake that missed was bonded at least since H - 2.
VALIDATOR_UPDATE_DELAY = 1


def compute_max_missed(params: types_pb2.Params) -> int:
    """Most misses allowed in a window: window - floor(window x min_signed_per_window)."""
    window = params.signed_blocks_window
    return window - Decimal.parse(params.min_signed_per_window).mul_int_floor(window)


def is_downtime(
    info: types_pb2.ValidatorSigningInfo, params: types_pb2.Params, height: int
) -> bool:
    """Missed more than allowed, and counted for a whole window (a validator that just joined
    is not judged on a partial window)."""
    judged_from = info.start_height + params.signed_blocks_window
    return height > judged_from and info.missed_blocks_counter > compute_max_missed(params)


def compute_infraction_height(height: int) -> int:
    """The height whose stake is slashed for downtime seen at ``height``."""
    return max(height - VALIDATOR_UPDATE_DELAY - 1, 0)
