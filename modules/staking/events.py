"""staking event types."""

CREATE_VALIDATOR = "create_validator"  # validator (indexed), moniker, amount
SLASH = "slash"  # validator (indexed), reason, slashed, jailed
POWER_CHANGE = "validator_power"  # validator (indexed), power
