"""Pure gov rules: vote options, the tally (Cosmos SDK x/gov v1), deposits, plan names.

Voting power is counted in "raw" units: tokens x 10**18, so that a weighted option
(weight = raw / 10**18) adds ``power x weight_raw // 10**18`` raw units exactly. Outcomes compare
exact integer cross-products: no division rounds a ratio before it meets its threshold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import chain.pb  # noqa: F401

from chain.fixed import ONE, Decimal
from infera.gov.v1 import types_pb2

YES, ABSTAIN, NO, VETO = (
    types_pb2.VOTE_OPTION_YES,
    types_pb2.VOTE_OPTION_ABSTAIN,
    types_pb2.VOTE_OPTION_NO,
    types_pb2.VOTE_OPTION_NO_WITH_VETO,
)
OPTIONS = (YES, ABSTAIN, NO, VETO)
PLAN_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # 1..64 ASCII, no spaces
TITLE_MAX = 140
SUMMARY_MAX = 10_000
PLAN_INFO_MAX = 1_000
TEXT_RE = re.compile(r"[\x20-\x7e\n]*")  # printable ASCII and newline

WeightedOptions = tuple[tuple[int, int], ...]  # ((option, weight raw), ...), weights sum to ONE


@dataclass(frozen=True)
class BondedValidator:
    """A bonded validator as the tally sees it (the SDK's ValidatorGovInfo)."""

    tokens: int
    delegator_shares: int  # shares issued; equals tokens while nobody has been slashed


@dataclass(frozen=True)
class TallyCounts:
    """Weighted voting power per option and in total, in raw units (tokens x 10**18)."""

    yes: int
    abstain: int
    no: int
    veto: int
    total: int

    def to_result(self) -> types_pb2.TallyResult:
        return types_pb2.TallyResult(
            yes_count=str(self.yes // ONE),
            abstain_count=str(self.abstain // ONE),
            no_count=str(self.no // ONE),
            no_with_veto_count=str(self.veto // ONE),
        )


def compute_options(options: Sequence[types_pb2.WeightedVoteOption]) -> WeightedOptions:
    """Validated weighted options; ValueError unless 1..4 distinct known options with weights in
    (0, 1] summing to exactly 1."""
    if not 1 <= len(options) <= len(OPTIONS):
        raise ValueError(f"{len(options)} options: expected 1 to {len(OPTIONS)}")
    out = []
    for option in options:
        if option.option not in OPTIONS:
            raise ValueError(f"unknown option {option.option}")
        weight = Decimal.parse(option.weight).raw
        if not 0 < weight <= ONE:
            raise ValueError(f"weight {option.weight!r} not in (0, 1]")
        out.append((int(option.option), weight))
    if len({o for o, _ in out}) != len(out):
        raise ValueError("duplicate option")
    if sum(w for _, w in out) != ONE:
        raise ValueError("weights must sum to 1")
    return tuple(sorted(out))


def compute_tally(
    validators: dict[bytes, BondedValidator],
    votes: Sequence[tuple[bytes, WeightedOptions]],
    delegations_of: Callable[[bytes], Sequence[tuple[bytes, int]]],
) -> TallyCounts:
    """The SDK's tally (x/gov/keeper/tally.go). A delegator's vote counts its delegations to
    bonded validators (shares x tokens / delegator_shares) and is deducted from those
    validators; a validator that voted adds what is left of its power (delegators who did not
    vote inherit its vote); validators that did not vote add nothing. ``votes`` and
    ``delegations_of`` results are iterated in the given order (callers pass address order)."""
    counts = dict.fromkeys(OPTIONS, 0)
    total = 0
    deductions: dict[bytes, int] = {}
    validator_votes: dict[bytes, WeightedOptions] = {}
    for voter, options in votes:
        if voter in validators:
            validator_votes[voter] = options
        for operator, shares in delegations_of(voter):
            validator = validators.get(operator)
            if validator is None:
                continue
            deductions[operator] = deductions.get(operator, 0) + shares
            power = _power(shares, validator)
            _add(counts, options, power)
            total += power
    for operator in sorted(validator_votes):
        validator = validators[operator]
        shares = _shares(validator) - deductions.get(operator, 0)
        power = _power(max(shares, 0), validator)
        _add(counts, validator_votes[operator], power)
        total += power
    return TallyCounts(counts[YES], counts[ABSTAIN], counts[NO], counts[VETO], total)


def compute_tokens_of_shares(shares: int, tokens: int, delegator_shares: int) -> int:
    """Whole tokens that ``shares`` of a validator stand for (0 for a validator without
    shares)."""
    return shares * tokens // delegator_shares if delegator_shares > 0 else 0


def _shares(validator: BondedValidator) -> int:
    return validator.delegator_shares or validator.tokens


def _power(shares: int, validator: BondedValidator) -> int:
    """Raw voting power of ``shares`` of ``validator``: shares x tokens / delegator_shares."""
    return shares * validator.tokens * ONE // _shares(validator)


def _add(counts: dict[int, int], options: WeightedOptions, power: int) -> None:
    for option, weight in options:
        counts[option] += power * weight // ONE


def compute_outcome(
    counts: TallyCounts, total_bonded: int, params: types_pb2.Params
) -> tuple[bool, bool]:
    """(passes, burn deposits), exactly as the SDK decides, in this order:
    no bonded tokens: fails; voted / bonded < quorum: fails (burn if burn_vote_quorum); every
    vote abstains: fails; veto / voted > veto_threshold: fails (burn if burn_vote_veto);
    yes / (voted - abstain) > threshold: passes; otherwise fails. Deposits burn only where said."""
    if total_bonded <= 0:
        return False, False
    quorum = Decimal.parse(params.quorum).raw
    if counts.total < quorum * total_bonded:  # both sides raw (x 10**18)
        return False, params.burn_vote_quorum
    non_abstain = counts.total - counts.abstain
    if non_abstain <= 0:
        return False, False
    if counts.veto * ONE > Decimal.parse(params.veto_threshold).raw * counts.total:
        return False, params.burn_vote_veto
    if counts.yes * ONE > Decimal.parse(params.threshold).raw * non_abstain:
        return True, False
    return False, False


def compute_min_deposit(params: types_pb2.Params, ratio: str) -> int:
    """ceil(min_deposit x ratio): the smallest initial deposit or MsgDeposit amount."""
    return Decimal.parse(ratio).mul_int_ceil(int(params.min_deposit.amount))


def is_valid_plan_name(name: str) -> bool:
    return isinstance(name, str) and PLAN_NAME_RE.fullmatch(name) is not None


def is_valid_text(text: str, limit: int) -> bool:
    """At most ``limit`` bytes of printable ASCII and newlines."""
    return isinstance(text, str) and len(text) <= limit and TEXT_RE.fullmatch(text) is not None
