"""distribution event types."""

REWARDS = "rewards"  # validator (indexed), amount: a validator's share of a block's fees
COMMISSION = "commission"  # validator (indexed), amount: the part of it kept as commission
WITHDRAW_REWARDS = "withdraw_rewards"  # delegator (indexed), validator (indexed), amount; also on
# every settlement before a delegation's shares change (delegate, undelegate, redelegate)
WITHDRAW_COMMISSION = "withdraw_commission"  # validator (indexed), amount
