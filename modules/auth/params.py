"""Default auth params (values follow the Cosmos SDK's defaults where one exists) and their
validation (gov's MsgUpdateParams)."""

import chain.pb  # noqa: F401

from chain.fixed import Decimal
from infera.auth.v1 import types_pb2

FEE_DENOM = "uinfera"
# Bounds a params change must stay within. Every tx (a gov vote or a proposal to undo a
# mistake included) must stay possible and affordable, and no tx may become cheap enough to
# spam the CPU: each per-unit gas cost stays within [default / 10, default x 100].
MAX_MEMO_CHARACTERS = 10_000  # memos ride in every tx; a tx's bytes pay tx_size_cost_per_byte
MAX_TX_SIG_LIMIT = 64  # a tx's message limit (chain.tx.MAX_MESSAGES): one signer each
TX_SIZE_COST_RANGE = (1, 1_000)  # gas per byte (default 10)
SIG_VERIFY_COST_RANGE = (100, 100_000)  # gas per secp256k1 verification (default 1,000)
MAX_MIN_GAS_PRICE = 10  # uinfera per gas (default 0.025): a 200,000-gas vote costs <= 2 INFERA


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        max_memo_characters=256,
        tx_sig_limit=7,
        tx_size_cost_per_byte=10,
        sig_verify_cost_secp256k1=1000,
        min_gas_price="0.025",
        fee_denom=FEE_DENOM,
    )


def validate_params(params: types_pb2.Params) -> None:
    """Raise ValueError when the params would stop or underprice transactions. fee_denom is
    fixed to the bond denom: fees in a denom nobody holds would stop every tx, including the
    proposal that could undo it."""
    if params.fee_denom != FEE_DENOM:
        raise ValueError(f"auth fee_denom must be {FEE_DENOM!r}")
    if not params.max_memo_characters <= MAX_MEMO_CHARACTERS:
        raise ValueError(f"auth max_memo_characters must be in 0..{MAX_MEMO_CHARACTERS}")
    if not 1 <= params.tx_sig_limit <= MAX_TX_SIG_LIMIT:
        raise ValueError(f"auth tx_sig_limit must be in 1..{MAX_TX_SIG_LIMIT}")
    for name, (low, high) in (
        ("tx_size_cost_per_byte", TX_SIZE_COST_RANGE),
        ("sig_verify_cost_secp256k1", SIG_VERIFY_COST_RANGE),
    ):
        if not low <= getattr(params, name) <= high:
            raise ValueError(f"auth {name} must be in {low}..{high}")
    price = Decimal.parse(params.min_gas_price).raw  # ValueError unless an ASCII decimal
    if not 0 < price <= Decimal.parse(str(MAX_MIN_GAS_PRICE)).raw:
        raise ValueError(f"auth min_gas_price must be in (0, {MAX_MIN_GAS_PRICE}]")
