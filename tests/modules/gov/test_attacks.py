"""Attacks on gov: voting twice, voting or depositing after the end, voting without stake,
proposal spam, depositor griefing, and a flood of proposals ending in one block."""

from __future__ import annotations

import chain.pb  # noqa: F401

from infera.gov.v1 import tx_pb2, types_pb2
from modules.agreement.params import default_params as agreement_defaults
from modules.gov.logic import NO, YES
from tests.harness import Key
from tests.modules.gov.helpers import (
    DEPOSIT_S,
    MIN_DEPOSIT,
    VOTING_S,
    advance_to,
    deposit_msg,
    gov_chain,
    proposal,
    run,
    submit_msg,
    update_params_msg,
    vote_msg,
)

VAL = [Key("val0"), Key("val1"), Key("val2")]
USER = Key("user0")


def _change() -> tx_pb2.MsgUpdateParams:
    params = agreement_defaults()
    params.audit_probability = "0.5"
    return update_params_msg("agreement", params)


def _submit(chain, deposit: int = MIN_DEPOSIT) -> tuple[int, int]:
    assert run(chain, USER, submit_msg(USER, _change(), deposit=deposit)).code == 0
    newest = max(p.id for p in _proposals(chain))
    return newest, chain.height


def _proposals(chain):
    from tests.modules.gov.helpers import keeper, query_ctx

    return list(keeper(chain, "gov").iterate_proposals(query_ctx(chain)))


def test_voting_twice_counts_only_the_last_vote(tmp_path):
    chain = gov_chain(tmp_path)
    proposal_id, start = _submit(chain)
    for option in (YES, YES, NO):  # the same validator, three times
        assert run(chain, VAL[0], vote_msg(VAL[0], proposal_id, option)).code == 0
    assert run(chain, VAL[1], vote_msg(VAL[1], proposal_id, YES)).code == 0
    advance_to(chain, start + VOTING_S)
    tally = proposal(chain, proposal_id).final_tally_result
    assert (tally.yes_count, tally.no_count) == (str(10**9), str(10**9))  # one vote each
    assert proposal(chain, proposal_id).status == types_pb2.PROPOSAL_STATUS_REJECTED


def test_a_vote_after_the_voting_period_is_refused(tmp_path):
    chain = gov_chain(tmp_path)
    proposal_id, start = _submit(chain)
    advance_to(chain, start + VOTING_S - 1)  # the next block's time is the end: closed
    res = run(chain, VAL[0], vote_msg(VAL[0], proposal_id, YES))
    assert (res.codespace, res.code) == ("gov", 4)


def test_a_vote_while_still_in_the_deposit_period_is_refused(tmp_path):
    chain = gov_chain(tmp_path)
    proposal_id, _ = _submit(chain, deposit=MIN_DEPOSIT // 2)
    res = run(chain, VAL[0], vote_msg(VAL[0], proposal_id, YES))
    assert (res.codespace, res.code) == ("gov", 4)


def test_a_deposit_after_the_deposit_period_is_refused(tmp_path):
    chain = gov_chain(tmp_path, burn_proposal_deposit_prevote=False)
    proposal_id, submitted = _submit(chain, deposit=MIN_DEPOSIT // 2)
    advance_to(chain, submitted + DEPOSIT_S - 1)
    res = run(chain, Key("user1"), deposit_msg(Key("user1"), proposal_id, MIN_DEPOSIT))
    assert (res.codespace, res.code) == ("gov", 4)
    assert proposal(chain, proposal_id) is None  # dropped in that same block, refunded


def test_a_deposit_after_the_voting_period_is_refused(tmp_path):
    chain = gov_chain(tmp_path)
    proposal_id, start = _submit(chain)
    advance_to(chain, start + VOTING_S)
    res = run(chain, Key("user1"), deposit_msg(Key("user1"), proposal_id, MIN_DEPOSIT))
    assert (res.codespace, res.code) == ("gov", 4)


def test_an_account_without_stake_cannot_vote(tmp_path):
    chain = gov_chain(tmp_path)
    proposal_id, _ = _submit(chain)
    res = run(chain, USER, vote_msg(USER, proposal_id, YES))
    assert (res.codespace, res.code) == ("gov", 30)


def test_a_malformed_weighted_vote_is_refused(tmp_path):
    chain = gov_chain(tmp_path)
    proposal_id, _ = _submit(chain)
    cases = [
        [("1", YES), ("0.5", NO)],  # sums to 1.5
        [("0.5", YES), ("0.5", YES)],  # duplicate
        [("1", 7)],  # unknown option
        [("0", YES), ("1", NO)],  # zero weight
    ]
    for options in cases:
        msg = tx_pb2.MsgVoteWeighted(proposal_id=proposal_id, voter=VAL[0].bech32)
        for weight, option in options:
            msg.options.add(option=option, weight=weight)
        res = run(chain, VAL[0], msg)
        assert (res.codespace, res.code) == ("gov", 8), options


def test_a_weighted_vote_splits_the_validators_power(tmp_path):
    chain = gov_chain(tmp_path)
    proposal_id, start = _submit(chain)
    msg = tx_pb2.MsgVoteWeighted(proposal_id=proposal_id, voter=VAL[0].bech32)
    msg.options.add(option=YES, weight="0.7")
    msg.options.add(option=NO, weight="0.3")
    assert run(chain, VAL[0], msg).code == 0
    advance_to(chain, start + VOTING_S)
    tally = proposal(chain, proposal_id).final_tally_result
    assert (tally.yes_count, tally.no_count) == (str(7 * 10**8), str(3 * 10**8))


def test_proposal_spam_costs_the_initial_deposit_of_each(tmp_path):
    """Ten proposals nobody backs: each locked min_deposit x 0.25 and each burns it."""
    chain = gov_chain(tmp_path)
    supply, spent = chain.supply(), MIN_DEPOSIT // 4
    txs = [chain.tx(USER, submit_msg(USER, _change(), deposit=spent)) for _ in range(10)]
    assert all(r.code == 0 for r in chain.block(txs).tx_results)
    advance_to(chain, chain.height + DEPOSIT_S + 1)
    assert _proposals(chain) == []
    assert chain.supply() == supply - 10 * spent


def test_depositor_griefing_is_bounded_by_max_depositors(tmp_path):
    chain = gov_chain(tmp_path, max_depositors=2)
    proposal_id, _ = _submit(chain, deposit=MIN_DEPOSIT // 4)
    assert run(chain, Key("user1"), deposit_msg(Key("user1"), proposal_id, 10_000)).code == 0
    res = run(chain, Key("user2"), deposit_msg(Key("user2"), proposal_id, 10_000))
    assert (res.codespace, res.code) == ("gov", 31)
    again = run(chain, Key("user1"), deposit_msg(Key("user1"), proposal_id, 10_000))
    assert again.code == 0  # an existing depositor may add more
    dust = run(chain, Key("user1"), deposit_msg(Key("user1"), proposal_id, 9_999))
    assert (dust.codespace, dust.code) == ("gov", 16)  # below min_deposit x 0.01


def test_at_most_max_ends_per_block_proposals_close_in_one_block(tmp_path):
    chain = gov_chain(tmp_path, max_ends_per_block=2)
    txs = [chain.tx(USER, submit_msg(USER, _change())) for _ in range(5)]
    assert all(r.code == 0 for r in chain.block(txs).tx_results)
    start = chain.height
    advance_to(chain, start + VOTING_S)

    def open_count() -> int:
        return sum(p.status == types_pb2.PROPOSAL_STATUS_VOTING_PERIOD for p in _proposals(chain))

    assert open_count() == 3  # two closed at the end block
    chain.block()
    assert open_count() == 1
    # still open in state, but closed to votes: its end time has passed
    res = run(chain, VAL[0], vote_msg(VAL[0], 5, YES))
    assert (res.codespace, res.code) == ("gov", 4)
    assert open_count() == 0


def test_a_delegator_who_votes_overrides_its_validator_for_its_stake(tmp_path):
    from infera.base.v1 import coin_pb2
    from infera.staking.v1 import tx_pb2 as staking_tx
    from tests.harness import DENOM

    chain = gov_chain(tmp_path)
    delegator = Key("user1")
    delegate = staking_tx.MsgDelegate(
        delegator_address=delegator.bech32,
        validator_address=VAL[0].bech32,
        amount=coin_pb2.Coin(denom=DENOM, amount=str(10**9)),
    )
    assert run(chain, delegator, delegate).code == 0  # val0 now bonds 2 x 10^9
    chain.block()  # the power update reaches the bonded set
    proposal_id, start = _submit(chain)
    assert run(chain, VAL[0], vote_msg(VAL[0], proposal_id, YES)).code == 0
    assert run(chain, delegator, vote_msg(delegator, proposal_id, NO)).code == 0
    advance_to(chain, start + VOTING_S)
    tally = proposal(chain, proposal_id).final_tally_result
    assert (tally.yes_count, tally.no_count) == (str(10**9), str(10**9))


def test_a_delegator_who_does_not_vote_inherits_its_validators_vote(tmp_path):
    from infera.base.v1 import coin_pb2
    from infera.staking.v1 import tx_pb2 as staking_tx
    from tests.harness import DENOM

    chain = gov_chain(tmp_path)
    delegator = Key("user1")
    delegate = staking_tx.MsgDelegate(
        delegator_address=delegator.bech32,
        validator_address=VAL[0].bech32,
        amount=coin_pb2.Coin(denom=DENOM, amount=str(10**9)),
    )
    assert run(chain, delegator, delegate).code == 0
    chain.block()
    proposal_id, start = _submit(chain)
    assert run(chain, VAL[0], vote_msg(VAL[0], proposal_id, YES)).code == 0
    advance_to(chain, start + VOTING_S)
    closed = proposal(chain, proposal_id)
    assert closed.final_tally_result.yes_count == str(2 * 10**9)
    assert closed.status == types_pb2.PROPOSAL_STATUS_PASSED  # 2/4 of bonded stake voted


def test_a_crash_while_closing_fails_that_proposal_and_the_chain_goes_on(tmp_path, monkeypatch):
    from modules.gov import abci

    chain = gov_chain(tmp_path)
    proposal_id, start = _submit(chain)
    advance_to(chain, start + VOTING_S - 1)

    def crash(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(abci, "compute_tally", crash)
    chain.block()  # the end-block survives
    closed = proposal(chain, proposal_id)
    assert closed.status == types_pb2.PROPOSAL_STATUS_FAILED
    assert closed.failed_reason == "internal error"
    monkeypatch.undo()
    chain.block()  # not closed twice
    assert proposal(chain, proposal_id).status == types_pb2.PROPOSAL_STATUS_FAILED
