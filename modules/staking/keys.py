"""Store keys of the staking module."""

VALIDATOR = b"staking/val/"  # + operator address (20 bytes) -> infera.staking.v1.Validator
BY_CONSENSUS = b"staking/cons/"  # + consensus address (20 bytes) -> operator address (20 bytes)
LAST_POWER = b"staking/power/"  # + operator address (20 bytes) -> power last sent to CometBFT
# + (2**256 - 1 - tokens) (32 bytes, big-endian: most tokens first) + operator (20) -> 0x01;
# only validators that are not jailed and hold tokens (the candidates for the active set)
BY_TOKENS = b"staking/by_tokens/"
PARAMS = b"staking/params"  # -> infera.staking.v1.Params
VERSION = b"staking/version"  # -> consensus version of the store layout, ASCII decimal

MAX_TOKENS = 2**256 - 1

BONDED_POOL = "bonded_tokens_pool"  # module account holding every validator's bonded tokens


def by_tokens_key(tokens: int, operator: bytes) -> bytes:
    return BY_TOKENS + (MAX_TOKENS - tokens).to_bytes(32, "big") + operator
