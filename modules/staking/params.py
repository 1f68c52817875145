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


def validate_params(params: types_pb2.Params) -> None:
    """Raise ``ValueError`` when params are unusable (genesis, governance)."""
    from chain.fixed import ONE, Decimal
    from chain.text import parse_uint
    from chain.tx import is_valid_denom

    if not is_valid_denom(params.bond_denom):
        raise ValueError(f"invalid bond_denom {params.bond_denom!r}")
    if not 1 <= params.max_validators <= 10_000:
        raise ValueError("max_validators must be 1..10000")
    parse_uint(params.min_self_bond)
    if params.power_reduction < 1:
        raise ValueError("power_reduction must be >= 1")
    if Decimal.parse(params.slash_fraction_double_sign).raw > ONE:
        raise ValueError("slash_fraction_double_sign must be a decimal in [0, 1]")
    if params.unbonding_time_ns < 1:
        raise ValueError("unbonding_time_ns must be positive")
    if not 1 <= params.max_entries <= 100:
        raise ValueError("max_entries must be 1..100")


def validate_params_change(old: types_pb2.Params, new: types_pb2.Params) -> None:
    """What a running chain may not change: the bond denom (bonded tokens would be stranded in
    the old one) and the power reduction (every validator's power would jump at once)."""
    validate_params(new)
    if new.bond_denom != old.bond_denom or new.power_reduction != old.power_reduction:
        raise ValueError("bond_denom and power_reduction cannot change on a running chain")
