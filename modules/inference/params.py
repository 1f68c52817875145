"""Default inference params and their validation."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.tx import is_valid_denom
from infera.inference.v1 import types_pb2

FEE_DENOM = "uinfera"


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        fee_denom=FEE_DENOM,
        max_prompt_bytes=16_384,  # 16 KiB of prompt per job
        max_new_tokens=1024,
        max_redundancy=5,
        min_deadline_blocks=20,  # also the room after the rounds when deadline_blocks is 0
        max_deadline_blocks=10_000,
        max_temperature_milli=2000,  # temperature 2.0
        max_top_k=1000,
        max_assignments_per_block=100,
        max_expiries_per_block=100,
        seal_window_blocks=10,  # sealed jobs: blocks after assignment to send MsgSealPrompt
    )


def validate_params(params: types_pb2.Params) -> None:
    """Raise ValueError when the params cannot work (genesis check)."""
    if not is_valid_denom(params.fee_denom):
        raise ValueError(f"invalid fee denom {params.fee_denom!r}")
    positive = (
        "max_prompt_bytes",
        "max_new_tokens",
        "max_redundancy",
        "min_deadline_blocks",
        "max_temperature_milli",
        "max_assignments_per_block",
        "max_expiries_per_block",
    )
    for name in positive:
        if getattr(params, name) <= 0:
            raise ValueError(f"inference param {name} must be positive")
    if params.max_deadline_blocks < params.min_deadline_blocks:
        raise ValueError("max_deadline_blocks is below min_deadline_blocks")
