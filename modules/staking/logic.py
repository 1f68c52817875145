"""Pure staking rules: voting power, the active set, slashing amounts."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.fixed import Decimal
from chain.text import is_printable_ascii
from infera.staking.v1 import types_pb2

MAX_MONIKER = 70


def compute_power(validator: types_pb2.Validator, power_reduction: int) -> int:
    """CometBFT voting power: bonded tokens / power_reduction, 0 when jailed."""
    if validator.jailed:
        return 0
    return int(validator.tokens) // power_reduction


def compute_active_powers(
    validators: list[tuple[bytes, types_pb2.Validator]], params: types_pb2.Params
) -> dict[bytes, int]:
    """Power of each operator in the active set: the top ``max_validators`` by power
    (ties broken by operator address), everyone else 0."""
    powered = [(compute_power(v, params.power_reduction), op) for op, v in validators]
    ranked = sorted((p for p in powered if p[0] > 0), key=lambda p: (-p[0], p[1]))
    active = {op: power for power, op in ranked[: params.max_validators]}
    return {op: active.get(op, 0) for _, op in powered}


def compute_slash_amount(tokens: int, fraction: str) -> int:
    """Tokens to slash: floor(tokens x fraction)."""
    return Decimal.parse(fraction).mul_int_floor(tokens)


def is_valid_moniker(moniker: str) -> bool:
    return 0 < len(moniker) <= MAX_MONIKER and is_printable_ascii(moniker)
