"""Default staking params."""

import chain.pb  # noqa: F401

from infera.staking.v1 import types_pb2

BOND_DENOM = "uinfera"


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        bond_denom=BOND_DENOM,
        max_validators=100,
        min_self_bond="1000000",  # 1 INFERA
        power_reduction=1_000_000,  # 1 unit of voting power per 1 INFERA bonded
        slash_fraction_double_sign="0.05",
    )
