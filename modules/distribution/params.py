"""Default distribution params."""

import chain.pb  # noqa: F401

from infera.distribution.v1 import types_pb2


def default_params() -> types_pb2.Params:
    return types_pb2.Params(community_tax="0.02", denom="uinfera")  # the Cosmos Hub's 2 %


def validate_params(params: types_pb2.Params) -> None:
    """Raise ``ValueError`` when params are unusable (genesis, governance)."""
    from chain.fixed import ONE, Decimal
    from chain.tx import is_valid_denom

    if not is_valid_denom(params.denom):
        raise ValueError(f"invalid denom {params.denom!r}")
    if Decimal.parse(params.community_tax).raw > ONE:
        raise ValueError("community_tax must be a decimal in [0, 1]")


def validate_params_change(old: types_pb2.Params, new: types_pb2.Params) -> None:
    """The distributed denom cannot change on a running chain (outstanding rewards are in it)."""
    validate_params(new)
    if new.denom != old.denom:
        raise ValueError("denom cannot change on a running chain")
