"""Store keys of the staking module.

Addresses are 20 bytes (``chain.crypto.from_bech32`` accepts no other length), so concatenated
keys split without ambiguity. Times are block-time unix nanoseconds, 8 bytes big-endian.
"""

VALIDATOR = b"staking/val/"  # + operator address (20 bytes) -> infera.staking.v1.Validator
BY_CONSENSUS = b"staking/cons/"  # + consensus address (20 bytes) -> operator address (20 bytes)
LAST_POWER = b"staking/power/"  # + operator address (20 bytes) -> power last sent to CometBFT
# + (2**256 - 1 - tokens) (32 bytes, big-endian: most tokens first) + operator (20) -> 0x01;
# only validators that are not jailed and hold tokens (the candidates for the active set)
BY_TOKENS = b"staking/by_tokens/"
PARAMS = b"staking/params"  # -> infera.staking.v1.Params
VERSION = b"staking/version"  # -> consensus version of the store layout, ASCII decimal
DELEGATION = b"staking/del/"  # + delegator (20) + operator (20) -> Delegation
UNBONDING = b"staking/ubd/"  # + delegator (20) + operator (20) -> UnbondingDelegation
UNBONDING_BY_VAL = b"staking/ubd_val/"  # + operator + delegator -> 0x01 (slashing walks these)
UNBONDING_QUEUE = b"staking/ubd_q/"  # + completion time (8) + delegator + operator -> 0x01
REDELEGATION = b"staking/red/"  # + delegator + src operator + dst operator -> Redelegation
REDELEGATION_BY_SRC = b"staking/red_src/"  # + src + delegator + dst -> 0x01 (slashing)
REDELEGATION_BY_DST = b"staking/red_dst/"  # + dst + delegator + src -> 0x01 (no hopping)
REDELEGATION_QUEUE = b"staking/red_q/"  # + completion time (8) + delegator + src + dst -> 0x01

MAX_TOKENS = 2**256 - 1
ADDR = 20  # address length in keys

BONDED_POOL = "bonded_tokens_pool"  # module account holding every validator's bonded tokens
UNBONDING_POOL = "staking_unbonding_pool"  # module account holding tokens being unbonded


def by_tokens_key(tokens: int, operator: bytes) -> bytes:
    return BY_TOKENS + (MAX_TOKENS - tokens).to_bytes(32, "big") + operator


def time_bytes(time_ns: int) -> bytes:
    return max(time_ns, 0).to_bytes(8, "big")
