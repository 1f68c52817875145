"""distribution invariants: the distribution account holds exactly the community pool plus
every validator's outstanding rewards, and each validator's outstanding rewards cover its
commission plus what every one of its delegations could withdraw now."""

from __future__ import annotations

from chain.context import Context
from modules.distribution import rewards
from modules.distribution.keeper import DistributionKeeper


def check_invariants(ctx: Context, keeper: DistributionKeeper) -> list[str]:
    """Descriptions of every broken invariant (empty when all hold). Reads every delegation's
    starting info: for tests and audits, not for block execution."""
    denom = keeper.get_params(ctx).denom
    broken = []
    total = keeper.get_community_pool(ctx)
    for operator, outstanding in keeper.iterate_outstanding(ctx):
        total += outstanding
        owed = keeper.get_commission(ctx, operator)
        owed += sum(
            rewards.compute_pending(ctx, keeper, operator, delegator)
            for delegator, _ in keeper.iterate_starting(ctx, operator)
        )
        if outstanding < owed:
            broken.append(f"{operator.hex()}: outstanding {outstanding} < withdrawable {owed}")
    held = keeper.bank.get_balance(ctx, rewards.account_address(), denom)
    if held != total:
        broken.append(f"distribution account holds {held}{denom}, state accounts for {total}")
    return broken
