"""Store keys of the staking module."""

VALIDATOR = b"staking/val/"  # + operator address (20 bytes) -> infera.staking.v1.Validator
BY_CONSENSUS = b"staking/cons/"  # + consensus address (20 bytes) -> operator address (20 bytes)
LAST_POWER = b"staking/power/"  # + operator address (20 bytes) -> power last sent to CometBFT
PARAMS = b"staking/params"  # -> infera.staking.v1.Params

BONDED_POOL = "bonded_tokens_pool"  # module account holding every validator's bonded tokens
