"""Pure distribution rules (integers only; every rounding goes down, and what rounding leaves is
named: it goes to the community pool or stays in a validator's outstanding rewards)."""

from __future__ import annotations

from chain.fixed import Decimal
from modules.distribution.keys import RATIO_PRECISION


def compute_allocation(
    fees: int, powers: list[tuple[bytes, int]], community_tax: str
) -> tuple[list[tuple[bytes, int]], int]:
    """Split a block's ``fees`` among validators by power: tax = floor(fees x community_tax),
    each validator floor((fees - tax) x power / total power); returns the shares (in the order
    given) and the community pool's part (tax plus the rounding remainder; everything when no
    power signed)."""
    total = sum(power for _, power in powers)
    tax = Decimal.parse(community_tax).mul_int_floor(fees)
    if total == 0:
        return [], fees
    pot = fees - tax
    shares = [(operator, pot * power // total) for operator, power in powers]
    return shares, fees - sum(amount for _, amount in shares)


def compute_commission(reward: int, rate: str) -> int:
    """The validator's commission of ``reward``: floor(reward x rate)."""
    return Decimal.parse(rate).mul_int_floor(reward)


def compute_ratio_increment(rewards: int, shares: int) -> tuple[int, int]:
    """Ending a period that accrued ``rewards`` over ``shares``: the cumulative ratio grows by
    floor(rewards x 10^30 / shares); ``carry`` = floor of what that leaves, carried into the next
    period (under one token of dust stays behind in outstanding rewards)."""
    increment = rewards * RATIO_PRECISION // shares
    carry = (rewards * RATIO_PRECISION - increment * shares) // RATIO_PRECISION
    return increment, carry


def compute_reward(shares: int, start_ratio: int, end_ratio: int) -> int:
    """A delegation's rewards between two periods: floor(shares x (end - start) / 10^30)."""
    return shares * (end_ratio - start_ratio) // RATIO_PRECISION
