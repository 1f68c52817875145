"""Default auth params (values follow the Cosmos SDK's defaults where one exists)."""

import chain.pb  # noqa: F401

from infera.auth.v1 import types_pb2

FEE_DENOM = "uinfera"


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        max_memo_characters=256,
        tx_sig_limit=7,
        tx_size_cost_per_byte=10,
        sig_verify_cost_secp256k1=1000,
        min_gas_price="0.025",
        fee_denom=FEE_DENOM,
    )
