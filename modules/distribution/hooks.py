"""distribution's side of the staking hooks (F1: settle before shares change, restart after)."""

from __future__ import annotations

from chain.context import Context
from modules.distribution import rewards
from modules.distribution.keeper import DistributionKeeper


class DistributionHooks:
    """Implements ``modules.staking.expected.StakingHooks``."""

    def __init__(self, keeper: DistributionKeeper) -> None:
        self.keeper = keeper

    def after_validator_created(self, ctx: Context, operator: bytes) -> None:
        rewards.initialize_validator(ctx, self.keeper, operator)

    def before_delegation_modified(self, ctx: Context, delegator: bytes, operator: bytes) -> None:
        """Pay what the delegation earned so far and end the validator's open period, also
        for a delegation about to be created: a newcomer starts after the rewards accrued before
        it (delegating just before a withdrawal earns nothing of them)."""
        rewards.withdraw_delegation(ctx, self.keeper, operator, delegator)

    def after_delegation_modified(self, ctx: Context, delegator: bytes, operator: bytes) -> None:
        rewards.start_delegation(ctx, self.keeper, operator, delegator)
