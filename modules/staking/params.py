"""Default staking params."""

import chain.pb  # noqa: F401

from infera.staking.v1 import types_pb2

BOND_DENOM = "uinfera"
DAY_NS = 24 * 3600 * 10**9


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        bond_denom=BOND_DENOM,
        max_validators=100,
        min_self_bond="1000000",  # 1 INFERA
        power_reduction=1_000_000,  # 1 unit of voting power per 1 INFERA bonded
        slash_fraction_double_sign="0.05",
        unbonding_time_ns=21 * DAY_NS,  # as the Cosmos Hub
        max_entries=7,  # as the Cosmos SDK
    )


def fill_defaults(params: types_pb2.Params) -> types_pb2.Params:
    """Params written before a field existed read it as 0: take the default there (a genesis
    file from before unbonding_time_ns / max_entries keeps working)."""
    defaults = default_params()
    if params.unbonding_time_ns <= 0:
        params.unbonding_time_ns = defaults.unbonding_time_ns
    if params.max_entries == 0:
        params.max_entries = defaults.max_entries
    return params
