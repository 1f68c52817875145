"""The tally as the Cosmos SDK computes it (x/gov/keeper/tally.go), on synthetic stake."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.fixed import ONE
from modules.gov.logic import (
    ABSTAIN,
    NO,
    VETO,
    YES,
    BondedValidator,
    TallyCounts,
    compute_outcome,
    compute_tally,
)
from tests.modules.gov.helpers import gov_params

A, B, C = b"\x0a" * 20, b"\x0b" * 20, b"\x0c" * 20  # validators
D = b"\x0d" * 20  # a delegator


def _no_delegations(_voter: bytes) -> list:
    return []


def _counts(yes=0, abstain=0, no=0, veto=0) -> TallyCounts:
    total = yes + abstain + no + veto
    return TallyCounts(yes * ONE, abstain * ONE, no * ONE, veto * ONE, total * ONE)


def test_validators_vote_with_their_tokens():
    validators = {A: BondedValidator(60, 60), B: BondedValidator(40, 40)}
    counts = compute_tally(validators, [(A, ((YES, ONE),)), (B, ((NO, ONE),))], _no_delegations)
    assert counts == _counts(yes=60, no=40)


def test_a_delegator_who_votes_overrides_its_validator_for_its_shares():
    # A has 100 tokens for 100 shares, 30 of them delegated by D; A votes yes, D votes no.
    validators = {A: BondedValidator(100, 100)}

    def delegations(voter: bytes) -> list:
        return [(A, 30)] if voter == D else []

    votes = [(A, ((YES, ONE),)), (D, ((NO, ONE),))]
    assert compute_tally(validators, votes, delegations) == _counts(yes=70, no=30)


def test_a_slashed_validator_counts_shares_at_their_token_value():
    validators = {A: BondedValidator(50, 100)}  # half the tokens slashed away

    def delegations(voter: bytes) -> list:
        return [(A, 40)] if voter == D else []

    counts = compute_tally(validators, [(D, ((YES, ONE),))], delegations)
    assert counts == _counts(yes=20)  # 40 shares x 50 / 100; A did not vote: nothing more


def test_votes_of_unbonded_validators_count_nothing():
    counts = compute_tally({A: BondedValidator(10, 10)}, [(C, ((YES, ONE),))], _no_delegations)
    assert counts.total == 0


def test_quorum_is_met_at_exactly_the_quorum():
    params = gov_params()  # quorum 0.334
    assert compute_outcome(_counts(yes=334), 1000, params) == (True, False)
    assert compute_outcome(_counts(yes=333), 1000, params) == (False, False)


def test_threshold_must_be_exceeded():
    params = gov_params()  # threshold 0.5: exactly half is not enough
    assert compute_outcome(_counts(yes=50, no=50), 100, params) == (False, False)
    assert compute_outcome(_counts(yes=51, no=49), 100, params) == (True, False)


def test_abstain_counts_for_quorum_but_not_the_threshold():
    params = gov_params()
    assert compute_outcome(_counts(yes=10, abstain=90), 100, params) == (True, False)
    assert compute_outcome(_counts(abstain=100), 100, params) == (False, False)


def test_veto_is_measured_over_all_votes_and_burns():
    params = gov_params()  # veto 0.334, burn_vote_veto
    assert compute_outcome(_counts(yes=60, veto=40), 100, params) == (False, True)
    assert compute_outcome(_counts(yes=66, abstain=1, veto=33), 100, params) == (True, False)


def test_quorum_failure_burns_only_when_burn_vote_quorum():
    assert compute_outcome(_counts(yes=1), 100, gov_params()) == (False, False)
    burning = gov_params(burn_vote_quorum=True)
    assert compute_outcome(_counts(yes=1), 100, burning) == (False, True)


def test_no_bonded_stake_never_passes():
    assert compute_outcome(_counts(), 0, gov_params()) == (False, False)


def test_weights_split_power_exactly():
    validators = {A: BondedValidator(3, 3)}
    options = ((YES, ONE // 3), (NO, ONE - ONE // 3))
    counts = compute_tally(validators, [(A, options)], _no_delegations)
    assert counts.yes + counts.no <= counts.total == 3 * ONE
    assert counts.to_result().yes_count == "0"  # 0.999...: truncated like the SDK
    assert (ABSTAIN, VETO) == (2, 4)  # the SDK's numbering
