"""staking event types."""

CREATE_VALIDATOR = "create_validator"  # validator (indexed), moniker, amount
EDIT_VALIDATOR = "edit_validator"  # validator (indexed), moniker, commission_rate
SLASH = "slash"  # validator (indexed), reason, slashed, jailed
POWER_CHANGE = "validator_power"  # validator (indexed), power
DELEGATE = "delegate"  # delegator (indexed), validator (indexed), amount, shares
UNBOND = "unbond"  # delegator (indexed), validator (indexed), amount, completion_time_ns
REDELEGATE = "redelegate"  # delegator (indexed), source, destination, amount, completion_time_ns
COMPLETE_UNBONDING = "complete_unbonding"  # delegator (indexed), validator, amount
COMPLETE_REDELEGATION = "complete_redelegation"  # delegator (indexed), source, destination
UNJAIL = "unjail"  # validator (indexed)
