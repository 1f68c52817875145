"""staking invariants: the pools hold exactly what the records say, and every validator's
shares are the sum of its delegations' shares."""

from __future__ import annotations

from chain import crypto
from chain.context import Context
from modules.staking import keys
from modules.staking.keeper import StakingKeeper


def check_invariants(ctx: Context, keeper: StakingKeeper) -> list[str]:
    """Descriptions of every broken invariant (empty when all hold). Reads every record: for
    tests and audits, not for block execution."""
    denom = keeper.get_params(ctx).bond_denom
    broken = []
    bonded = 0
    shares: dict[bytes, int] = {}
    for _, operator, delegation in keeper.iterate_delegations(ctx):
        shares[operator] = shares.get(operator, 0) + int(delegation.shares)
    for operator, validator in keeper.iterate_validators(ctx):
        bonded += int(validator.tokens)
        if int(validator.delegator_shares or "0") != shares.get(operator, 0):
            broken.append(f"{validator.operator_address}: shares differ from its delegations")
    unbonding = sum(int(e.balance) for u in keeper.iterate_unbondings(ctx) for e in u.entries)
    for pool, expected in ((keys.BONDED_POOL, bonded), (keys.UNBONDING_POOL, unbonding)):
        held = keeper.bank.get_balance(ctx, crypto.module_address(pool), denom)
        if held != expected:
            broken.append(f"{pool} holds {held}{denom}, staking accounts for {expected}{denom}")
    return broken
