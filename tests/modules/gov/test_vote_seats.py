"""The bounded tally: votes take at most max_votes_per_proposal seats ranked by stake, one
end-block's tallies read at most max_tally_votes_per_block votes, and each voter's first
TALLY_DELEGATIONS_PER_VOTER delegations. Unit scenarios run the real gov and staking keepers on
an in-memory store; the scenarios at the end run the real app (ABCI calls, no CometBFT)."""

from __future__ import annotations

import chain.pb  # noqa: F401

from hypothesis import given, settings
from hypothesis import strategies as st

from chain import crypto
from chain.context import BlockInfo, Context, ExecMode
from chain.errors import ChainError
from chain.store import CacheStore
from chain.store.cache import MemStore
from chain.upgrades import UpgradeRegistry
from infera.gov.v1 import tx_pb2, types_pb2
from infera.staking.v1 import types_pb2 as st_pb2
from modules.gov import abci, keys, logic, msg_server
from modules.gov.invariants import _seat_errors
from modules.gov.keeper import GovKeeper
from modules.gov.logic import NO, YES
from modules.gov.params import TALLY_DELEGATIONS_PER_VOTER, default_params, validate_params
from modules.staking.keeper import StakingKeeper
from modules.staking.params import default_params as staking_defaults

SECOND = 1_000_000_000
END_NS = 100 * SECOND  # every unit proposal's voting period ends here
OPS = [bytes([0xF0 + i]) * 20 for i in range(6)]  # validator operators


def _env(max_votes: int, per_block: int | None = None) -> tuple[Context, GovKeeper]:
    ctx = Context(store=CacheStore(MemStore()), block=BlockInfo("c", 1, 0), mode=ExecMode.FINALIZE)
    staking = StakingKeeper(bank=None)
    staking.set_params(ctx, staking_defaults())
    gov = GovKeeper(bank=None, staking=staking, upgrades=UpgradeRegistry())  # type: ignore[arg-type]
    params = default_params()
    params.max_votes_per_proposal = max_votes
    params.max_tally_votes_per_block = per_block or max_votes
    validate_params(params)
    gov.set_params(ctx, params)
    return ctx, gov


def _validator(ctx: Context, gov: GovKeeper, op: bytes, tokens: int, shares: int) -> None:
    validator = st_pb2.Validator(tokens=str(tokens), delegator_shares=str(shares), moniker="v")
    gov.staking.set_validator(ctx, op, validator)  # type: ignore[attr-defined]
    gov.staking.set_last_power(ctx, op, max(tokens // 10**6, 1))  # type: ignore[attr-defined]


def _delegate(ctx: Context, gov: GovKeeper, voter: bytes, op: bytes, shares: int) -> None:
    delegation = st_pb2.Delegation(shares=str(shares))
    gov.staking.set_delegation(ctx, voter, op, delegation)  # type: ignore[attr-defined]


def _open(ctx: Context, gov: GovKeeper, proposal_id: int, end_ns: int = END_NS) -> None:
    gov.set_proposal(
        ctx,
        types_pb2.Proposal(
            id=proposal_id,
            status=types_pb2.PROPOSAL_STATUS_VOTING_PERIOD,
            voting_end_time_ns=end_ns,
            total_deposit={"denom": "uinfera", "amount": "0"},
        ),
    )
    gov.insert_queue(ctx, keys.ACTIVE_QUEUE, end_ns, proposal_id)


def _vote(ctx: Context, gov: GovKeeper, proposal_id: int, voter: bytes, options) -> None:
    weighted = [types_pb2.WeightedVoteOption(option=o, weight=str(w)) for o, w in options]
    msg = tx_pb2.MsgVoteWeighted(
        proposal_id=proposal_id, voter=crypto.to_bech32(voter), options=weighted
    )
    msg_server.vote_weighted(ctx, gov, msg)


def _at(ctx: Context, time_ns: int) -> Context:
    return Context(store=ctx.store, block=BlockInfo("c", 2, time_ns), mode=ExecMode.FINALIZE)


# -- the capped tally is the SDK's tally over the seated votes -----------------------------------

AMOUNTS = st.one_of(st.integers(1, 3), st.integers(1, 10**6))  # small ones: stakes that tie
OPTION_SETS = [((YES, "1"),), ((NO, "1"),), ((3, "1"),), ((4, "1"),), ((YES, "0.3"), (NO, "0.7"))]


@st.composite
def _scenarios(draw):
    n_validators = draw(st.integers(1, 4))
    validators = [(draw(AMOUNTS), draw(AMOUNTS)) for _ in range(n_validators)]
    n_voters = draw(st.integers(0, 14))
    voters = []
    for i in range(n_voters):
        # a voter is a delegator (1..3 delegations) or one of the validators' operators
        if i < n_validators and draw(st.booleans()):
            voters.append((OPS[i], [(i, draw(AMOUNTS))]))
        else:
            picks = draw(st.lists(st.integers(0, n_validators - 1), min_size=1, max_size=3))
            shares = [(j, draw(AMOUNTS)) for j in sorted(set(picks))]
            voters.append(((10**6 + i).to_bytes(20, "big"), shares))
    order = draw(st.lists(st.integers(0, max(n_voters - 1, 0)), max_size=3 * n_voters))
    options = [draw(st.sampled_from(OPTION_SETS)) for _ in order]
    cap = draw(st.integers(1, 16))
    return validators, voters, order, options, cap


def _seat_stake(ctx: Context, gov: GovKeeper, voter: bytes) -> int:
    return msg_server._seat_stake(ctx, gov, voter) or 0


@settings(max_examples=60, deadline=None)
@given(_scenarios())
def test_the_capped_tally_equals_the_one_shot_tally_over_the_seated_votes(scenario):
    validators, voters, order, options, cap = scenario
    ctx, gov = _env(max_votes=cap)
    for i, (tokens, shares) in enumerate(validators):
        _validator(ctx, gov, OPS[i], tokens, shares)
    for voter, delegations in voters:
        for j, shares in delegations:
            _delegate(ctx, gov, voter, OPS[j], shares)
    _open(ctx, gov, 1)
    # the model: a streaming top-`cap` by (stake, earlier arrival); a re-vote keeps its seat
    seated: dict[bytes, tuple] = {}
    for index, opts in zip(order, options, strict=True):
        voter = voters[index][0]
        stake = _seat_stake(ctx, gov, voter)
        lowest = min(seated, key=lambda v: (_seat_stake(ctx, gov, v), v), default=None)
        full = voter not in seated and len(seated) >= cap
        refused = full and stake <= _seat_stake(ctx, gov, lowest)
        try:
            _vote(ctx, gov, 1, voter, opts)
        except ChainError as err:
            assert refused and (err.codespace, err.code) == ("gov", 35)
            continue
        assert not refused
        if full:
            del seated[lowest]  # evicted: the smallest seat, which held less
        seated[voter] = opts
    proposal = gov.get_proposal(ctx, 1)
    assert proposal.vote_count == len(seated) <= cap
    assert _seat_errors(ctx, gov, proposal) == []
    # one-shot reference: the SDK's tally over the seated votes, all delegations of each voter
    bonded = {
        OPS[i]: logic.BondedValidator(tokens=t, delegator_shares=s)
        for i, (t, s) in enumerate(validators)
    }
    votes = [
        (
            v,
            logic.compute_options(
                [types_pb2.WeightedVoteOption(option=o, weight=w) for o, w in opts]
            ),
        )
        for v, opts in sorted(seated.items())
    ]
    expected = logic.compute_tally(bonded, votes, lambda v: gov.get_delegations_of(ctx, v))
    counts, total_bonded = abci.compute_tally(ctx, gov, 1)
    assert counts == expected
    assert total_bonded == sum(t for t, _ in validators)


@settings(max_examples=30, deadline=None)
@given(_scenarios())
def test_with_seats_for_everyone_the_tally_is_the_uncapped_one(scenario):
    validators, voters, order, options, _ = scenario
    ctx, gov = _env(max_votes=len(voters) or 1)
    for i, (tokens, shares) in enumerate(validators):
        _validator(ctx, gov, OPS[i], tokens, shares)
    for voter, delegations in voters:
        for j, shares in delegations:
            _delegate(ctx, gov, voter, OPS[j], shares)
    _open(ctx, gov, 1)
    last: dict[bytes, tuple] = {}
    for index, opts in zip(order, options, strict=True):
        _vote(ctx, gov, 1, voters[index][0], opts)  # never refused: a seat for every voter
        last[voters[index][0]] = opts
    bonded = {
        OPS[i]: logic.BondedValidator(tokens=t, delegator_shares=s)
        for i, (t, s) in enumerate(validators)
    }
    votes = [
        (
            v,
            logic.compute_options(
                [types_pb2.WeightedVoteOption(option=o, weight=w) for o, w in opts]
            ),
        )
        for v, opts in sorted(last.items())
    ]
    expected = logic.compute_tally(bonded, votes, lambda v: gov.get_delegations_of(ctx, v))
    assert abci.compute_tally(ctx, gov, 1)[0] == expected


# -- per-block work ----------------------------------------------------------------------------


def test_one_end_block_reads_at_most_max_tally_votes_per_block(monkeypatch):
    ctx, gov = _env(max_votes=5, per_block=8)
    _validator(ctx, gov, OPS[0], 10**6, 10**6)
    for proposal_id in (1, 2, 3, 4):  # 5 + 5 + 3 + 0 votes, all ended at END_NS
        _open(ctx, gov, proposal_id)
    for i, count in enumerate((5, 5, 3)):
        for j in range(count):
            voter = (10**6 + 10 * i + j).to_bytes(20, "big")
            _delegate(ctx, gov, voter, OPS[0], 10 + j)
            _vote(ctx, gov, i + 1, voter, ((YES, "1"),))
    read: list[int] = []
    original = gov.iterate_votes

    def counting(c, proposal_id):
        for item in original(c, proposal_id):
            read[-1] += 1
            yield item

    monkeypatch.setattr(gov, "iterate_votes", counting)
    closed_by_block, closed = [], set()
    for block in range(3):
        read.append(0)
        abci.process_ended_proposals(_at(ctx, END_NS + block * SECOND), gov)
        now = {
            p.id
            for p in gov.iterate_proposals(ctx)
            if p.status != types_pb2.PROPOSAL_STATUS_VOTING_PERIOD
        }
        closed_by_block.append(sorted(now - closed))
        closed = now
    assert closed_by_block == [[1], [2, 3, 4], []]  # 5 + 5 > 8 waits; then 5 + 3 + 0 <= 8
    assert read == [5, 8, 0]
    assert all(n <= 8 for n in read)


def test_a_voter_with_more_delegations_counts_its_first_ones_and_the_rest_inherit():
    ctx, gov = _env(max_votes=20)
    count = TALLY_DELEGATIONS_PER_VOTER + 2
    ops = [bytes([0xA0 + i]) * 20 for i in range(count)]  # operator order = index order
    for op in ops:
        _validator(ctx, gov, op, 1000, 1000)
        _delegate(ctx, gov, op, op, 900)  # self-delegations
    voter = (10**6).to_bytes(20, "big")
    for op in ops:
        _delegate(ctx, gov, voter, op, 100)
    _open(ctx, gov, 1)
    _vote(ctx, gov, 1, voter, ((NO, "1"),))
    for op in ops:
        _vote(ctx, gov, 1, op, ((YES, "1"),))
    counts, _ = abci.compute_tally(ctx, gov, 1)
    counted = TALLY_DELEGATIONS_PER_VOTER * 100
    assert counts.no == counted * logic.ONE
    assert counts.yes == (count * 1000 - counted) * logic.ONE  # the two left follow their validator
    assert counts.total == count * 1000 * logic.ONE


# -- votes after the end, while a proposal waits for the budget ---------------------------------


def test_a_proposal_waiting_for_the_tally_budget_refuses_votes():
    ctx, gov = _env(max_votes=5, per_block=5)
    _validator(ctx, gov, OPS[0], 10**6, 10**6)
    voters = [(10**6 + j).to_bytes(20, "big") for j in range(6)]
    for voter in voters:
        _delegate(ctx, gov, voter, OPS[0], 10)
    _open(ctx, gov, 1)
    _open(ctx, gov, 2)
    for voter in voters[:5]:
        _vote(ctx, gov, 1, voter, ((YES, "1"),))
    _vote(ctx, gov, 2, voters[0], ((YES, "1"),))
    after = _at(ctx, END_NS)
    abci.process_ended_proposals(after, gov)
    assert gov.get_proposal(ctx, 1).status == types_pb2.PROPOSAL_STATUS_REJECTED  # closed
    waiting = gov.get_proposal(ctx, 2)
    assert waiting.status == types_pb2.PROPOSAL_STATUS_VOTING_PERIOD  # 5 + 1 > 5: next block
    try:
        _vote(after, gov, 2, voters[5], ((NO, "1"),))
        raise AssertionError("a vote after the end was accepted")
    except ChainError as err:
        assert (err.codespace, err.code) == ("gov", 4)
    assert gov.get_proposal(ctx, 2).vote_count == 1


def test_stake_moved_while_a_tally_waits_counts_at_the_block_that_tallies_it():
    """The documented deviation (README "Delaying a tally"): no new vote, but the seated
    voter's stake is read when its tally runs, not at the end."""
    ctx, gov = _env(max_votes=2, per_block=2)
    _validator(ctx, gov, OPS[0], 10**6, 10**6)
    a, b = (10**6).to_bytes(20, "big"), (10**6 + 1).to_bytes(20, "big")
    for voter in (a, b):
        _delegate(ctx, gov, voter, OPS[0], 10)
    _open(ctx, gov, 1)
    _open(ctx, gov, 2, end_ns=END_NS + 1)  # ends after 1: waits behind it
    _vote(ctx, gov, 1, a, ((YES, "1"),))
    _vote(ctx, gov, 1, b, ((YES, "1"),))
    _vote(ctx, gov, 2, a, ((NO, "1"),))
    abci.process_ended_proposals(_at(ctx, END_NS + SECOND), gov)
    assert gov.get_proposal(ctx, 2).status == types_pb2.PROPOSAL_STATUS_VOTING_PERIOD
    _delegate(ctx, gov, a, OPS[0], 25)  # a's delegation grows after the end, before its tally
    abci.process_ended_proposals(_at(ctx, END_NS + 2 * SECOND), gov)
    assert gov.get_proposal(ctx, 2).final_tally_result.no_count == "25"


# -- on the real app -----------------------------------------------------------------------------


def test_full_seats_refuse_a_smaller_voter_and_a_bigger_one_evicts_the_smallest(tmp_path):
    from infera.base.v1 import coin_pb2
    from infera.staking.v1 import tx_pb2 as staking_tx
    from tests.harness import DENOM, Key
    from tests.modules.gov import helpers

    chain = helpers.gov_chain(tmp_path, max_votes_per_proposal=2, max_tally_votes_per_block=2)
    val0, val1, proposer = Key("val0"), Key("val1"), Key("user0")
    users = {Key("user1"): 1000, Key("user2"): 2000, Key("user3"): 500}
    for user, amount in users.items():
        delegate = staking_tx.MsgDelegate(
            delegator_address=user.bech32,
            validator_address=val0.bech32,
            amount=coin_pb2.Coin(denom=DENOM, amount=str(amount)),
        )
        assert helpers.run(chain, user, delegate).code == 0
    chain.block()
    change = helpers.update_params_msg("gov", helpers.gov_params(max_messages=5))
    assert helpers.run(chain, proposer, helpers.submit_msg(proposer, change)).code == 0
    proposal_id, start = 1, chain.height
    user1, user2, user3 = users
    assert helpers.run(chain, user1, helpers.vote_msg(user1, proposal_id, NO)).code == 0
    assert helpers.run(chain, user2, helpers.vote_msg(user2, proposal_id, NO)).code == 0
    refused = helpers.run(chain, user3, helpers.vote_msg(user3, proposal_id, NO))
    assert (refused.codespace, refused.code) == ("gov", 35)  # 500 < both seats
    evicting = helpers.run(chain, val1, helpers.vote_msg(val1, proposal_id, YES))
    assert evicting.code == 0
    evicted = [e for e in evicting.events if e.type == "vote_evicted"]
    assert [a.value for a in evicted[0].attributes if a.key == "voter"] == [user1.bech32]
    gov = helpers.keeper(chain, "gov")
    assert gov.get_vote(helpers.query_ctx(chain), proposal_id, user1.address) is None
    assert helpers.proposal(chain, proposal_id).vote_count == 2
    helpers.advance_to(chain, start + helpers.VOTING_S)
    tally = helpers.proposal(chain, proposal_id).final_tally_result
    # val1 YES with its 10^9; user2 NO with 2000; user1 follows val0, which did not vote
    assert (tally.yes_count, tally.no_count) == (str(10**9), "2000")
