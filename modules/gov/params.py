"""Default gov params and their validation (README "Params" says why each default)."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.fixed import ONE, Decimal
from chain.tx import parse_coins
from infera.base.v1 import coin_pb2
from infera.gov.v1 import types_pb2

BOND_DENOM = "uinfera"
DAY_S = 24 * 3600
MAX_PERIOD_S = 365 * DAY_S  # a year of block time: any longer is a typo
MAX_PROPOSAL_MESSAGES = 64  # a tx's message limit (chain.tx.MAX_MESSAGES)
MAX_DEPOSITORS = 10_000
MAX_ENDS_PER_BLOCK = 1_000
MAX_METADATA_LEN = 10_000
# One end-block's tally work: at most this many votes read, each with at most
# TALLY_DELEGATIONS_PER_VOTER delegations: 1,000 x 8 measured at 0.03-0.04 s of CPU (README
# "Bounds"), within the 100 ms a block hook may take.
MAX_TALLY_VOTES = 1_000
# Delegations of one voter the tally reads (operator order); its delegations beyond them follow
# their validator's vote, as if the voter had not voted for them (README "Tally").
TALLY_DELEGATIONS_PER_VOTER = 8


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        min_deposit=coin_pb2.Coin(denom=BOND_DENOM, amount="10000000"),  # 10 INFERA
        max_deposit_period_s=2 * DAY_S,  # the SDK's default
        voting_period_s=2 * DAY_S,  # the SDK's default
        quorum="0.334",  # the SDK's defaults (x/gov v1)
        threshold="0.5",
        veto_threshold="0.334",
        min_initial_deposit_ratio="0.25",  # SDK default 0: here a spam proposal locks 2.5 INFERA
        min_deposit_ratio="0.01",  # the SDK's default: a deposit below 0.1 INFERA is refused
        burn_vote_quorum=False,  # the SDK's defaults
        burn_proposal_deposit_prevote=True,  # SDK default false: a proposal nobody backs burns
        burn_vote_veto=True,
        max_messages=10,
        max_depositors=100,
        max_ends_per_block=10,
        max_metadata_len=255,  # the SDK's MaxMetadataLen
        max_votes_per_proposal=500,  # seats: the 500 largest voters (validators included)
        max_tally_votes_per_block=1_000,  # = MAX_TALLY_VOTES: two full tallies per end-block
    )


def validate_params(params: types_pb2.Params) -> None:
    """Raise ValueError when the params cannot work (genesis and MsgUpdateParams)."""
    (deposit,) = _one_coin(params.min_deposit)
    if deposit <= 0:
        raise ValueError("min_deposit must be positive")
    for name in ("max_deposit_period_s", "voting_period_s"):
        if not 1 <= getattr(params, name) <= MAX_PERIOD_S:
            raise ValueError(f"gov param {name} must be in 1..{MAX_PERIOD_S} seconds")
    for name in ("quorum", "threshold", "veto_threshold"):
        if not 0 < Decimal.parse(getattr(params, name)).raw <= ONE:
            raise ValueError(f"gov param {name} must be in (0, 1]")
    for name in ("min_initial_deposit_ratio", "min_deposit_ratio"):
        if not 0 <= Decimal.parse(getattr(params, name)).raw <= ONE:
            raise ValueError(f"gov param {name} must be in [0, 1]")
    bounds = {
        "max_messages": MAX_PROPOSAL_MESSAGES,
        "max_depositors": MAX_DEPOSITORS,
        "max_ends_per_block": MAX_ENDS_PER_BLOCK,
        "max_metadata_len": MAX_METADATA_LEN,
        "max_votes_per_proposal": MAX_TALLY_VOTES,
        "max_tally_votes_per_block": MAX_TALLY_VOTES,
    }
    for name, high in bounds.items():
        if not 1 <= getattr(params, name) <= high:
            raise ValueError(f"gov param {name} must be in 1..{high}")
    if params.max_votes_per_proposal > params.max_tally_votes_per_block:
        raise ValueError("gov max_votes_per_proposal must not exceed max_tally_votes_per_block")


def _one_coin(coin: coin_pb2.Coin) -> tuple[int]:
    try:
        (parsed,) = parse_coins([coin])
    except Exception as exc:
        raise ValueError(f"min_deposit: {exc}") from None
    return (parsed.amount,)
