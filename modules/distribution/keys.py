"""Store keys of the distribution module (addresses 20 bytes, periods 8 bytes big-endian)."""

PARAMS = b"distribution/params"  # -> infera.distribution.v1.Params
VERSION = b"distribution/version"  # -> ASCII decimal; absent: state predates the module
COMMUNITY_POOL = b"distribution/community"  # -> integer string (params.denom)
CURRENT = b"distribution/cur/"  # + operator -> ValidatorCurrentRewards
HISTORICAL = b"distribution/hist/"  # + operator + period (8) -> ValidatorHistoricalRewards
STARTING = b"distribution/start/"  # + operator + delegator -> DelegatorStartingInfo
COMMISSION = b"distribution/commission/"  # + operator -> accrued commission (integer string)
OUTSTANDING = b"distribution/outstanding/"  # + operator -> commission + unpaid rewards + dust

DISTRIBUTION_ACCOUNT = "distribution"  # module account holding outstanding rewards and the pool
RATIO_PRECISION = 10**30  # cumulative ratio = reward per share x 10^30


def historical_key(operator: bytes, period: int) -> bytes:
    return HISTORICAL + operator + period.to_bytes(8, "big")
