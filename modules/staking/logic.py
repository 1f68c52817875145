"""Pure staking rules: voting power, the active set, shares and tokens, commission, slashing."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.fixed import ONE, Decimal
from chain.text import is_printable_ascii
from infera.staking.v1 import types_pb2

MAX_MONIKER = 70
# Shares a validator issues per token while no slash has happened (integer shares keep
# precision after slashes: tokens/shares then falls below 1/SHARES_PER_TOKEN, never to 0).
SHARES_PER_TOKEN = 10**6
COMMISSION_CHANGE_PERIOD_NS = 24 * 3600 * 10**9  # at most one commission change per 24 h
DEFAULT_COMMISSION = ("0.1", "0.2", "0.01")  # rate, max rate, max change rate


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


def compute_shares_for_tokens(tokens: int, total_tokens: int, total_shares: int) -> int:
    """Shares a delegation of ``tokens`` receives: the first delegation of a validator gets
    SHARES_PER_TOKEN per token, later ones floor(tokens x shares / tokens) (rounding down
    favours the delegators already there). 0 means the validator cannot take delegations
    (all its tokens were slashed away while shares remain)."""
    if total_shares == 0:
        return tokens * SHARES_PER_TOKEN
    if total_tokens == 0:
        return 0
    return tokens * total_shares // total_tokens


def compute_shares_to_unbond(tokens: int, total_tokens: int, total_shares: int) -> int:
    """Shares an undelegation of ``tokens`` removes: ceil(tokens x shares / tokens), rounding
    against the one leaving (so nobody withdraws more than their shares are worth)."""
    return -((-tokens * total_shares) // total_tokens) if total_tokens else 0


def compute_tokens_for_shares(shares: int, total_tokens: int, total_shares: int) -> int:
    """Tokens ``shares`` are worth: floor(shares x tokens / shares)."""
    return shares * total_tokens // total_shares if total_shares else 0


def parse_fraction(text: str) -> Decimal | None:
    """A decimal in [0, 1], or None."""
    try:
        value = Decimal.parse(text)
    except ValueError:
        return None
    return value if value.raw <= ONE else None


def is_valid_commission(rate: Decimal, max_rate: Decimal, max_change: Decimal) -> bool:
    return rate <= max_rate and max_change <= max_rate


def compute_commission_refusal(
    commission: types_pb2.Commission, new_rate: Decimal, now_ns: int
) -> str:
    """Why a commission change is refused ("" when allowed): above max rate, moving more than
    max change rate, or within 24 h of the last change."""
    old = Decimal.parse(commission.rate)
    if new_rate > Decimal.parse(commission.max_rate):
        return f"rate {new_rate} above max rate {commission.max_rate}"
    if abs(new_rate.raw - old.raw) > Decimal.parse(commission.max_change_rate).raw:
        return f"change {old} -> {new_rate} exceeds max change rate {commission.max_change_rate}"
    if now_ns - commission.update_time_ns < COMMISSION_CHANGE_PERIOD_NS:
        return "commission changed less than 24 h ago"
    return ""


def is_valid_moniker(moniker: str) -> bool:
    return 0 < len(moniker) <= MAX_MONIKER and is_printable_ascii(moniker)
