"""Verification fails closed (issue 14): every dispute and audit gets a verdict in bounded time
whatever else is open, undecided never means paid, votes are tallied per output and per hop,
withholding costs what cheating costs, and a short deadline cannot cut a dispute short.

Chain: model "m" (8 layers, price 10) served by six workers (tests/modules/jobs.py), vote
extensions on, validators with equal power. Verdicts go through the app's ExtendVote (the
validator's verifier source, filtered to the jobs holding a slot), as on a real node.
"""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.vote_extensions import ExtendedVote
from infera.agreement.v1 import types_pb2 as R
from infera.base.v1 import coin_pb2
from infera.inference.v1 import types_pb2 as J
from modules.agreement import logic, verdicts, verifications
from tendermint.abci import types_pb2 as abci
from tests.harness import DENOM, INITIAL_BALANCE, validator_pubkey
from tests.modules.jobs import (
    OUTPUT,
    advance_to,
    commit_msg,
    history,
    hops,
    job,
    make_job_chain,
    ok,
    reveal_msg,
    submit_msg,
)
from tests.modules.serving import FEE, GAS, STAKE, keeper, latest_ctx

OTHER = [9, 9, 9]
H_OUT, H_OTHER = logic.compute_output_hash(OUTPUT, b""), logic.compute_output_hash(OTHER, b"")
WINDOW = 4  # verdict window (blocks); verdict_max_windows stays 3


def _chain(tmp_path, validators=1, **agreement):
    params = {"audit_window_blocks": WINDOW, "max_settlements_per_block": 100, **agreement}
    return make_job_chain(
        tmp_path / "fc",
        vote_extensions_from=1,
        validators=validators,
        agreement=params,
        inference={"max_assignments_per_block": 100, "max_expiries_per_block": 100},
    )


def _verdict(job_id, passing, culprits=(), selected=b""):
    return R.Verdict(
        job_id=job_id,
        passing_output_hashes=sorted(passing),
        culprits=[R.Culprit(route_index=r, hop_index=h) for r, h in sorted(culprits)],
        selected_output_hash=selected,
    )


def _vote(node, sources):
    """One block in which each validator's ExtendVote asks its verifier ``sources[name]``
    (ids open now -> verdicts; a validator left out abstains)."""
    handler = node.app.vote_extensions
    extensions = {}
    for validator in node.validators:
        source = sources.get(validator.name)
        if source is None:
            continue
        handler.source = source
        request = abci.RequestExtendVote(height=node.height)
        extensions[validator.name] = node.app.extend_vote(request).vote_extension
    handler.source = None
    node.block(extensions=extensions)


def _play(node, job_ids, outputs):
    """Every hop of the jobs commits in one block, then reveals in the next,
    ``outputs[(route, hop)]`` (default OUTPUT; None: that hop stays silent)."""
    job_ids = [job_ids] if isinstance(job_ids, int) else job_ids
    plan = [
        (job_id, route[h], outputs.get((r, h), OUTPUT))
        for job_id in job_ids
        for r, route in enumerate(hops(node, job_id))
        for h in range(len(route))
    ]
    plan = [(j, w, o) for j, w, o in plan if o is not None]
    _per_signer(node, [(w, commit_msg(w, j, tokens=o)) for j, w, o in plan])
    if None in outputs.values():  # reveals open when the commit window ends
        advance_to(node, max(job(node, j).commit_end_height for j in job_ids))
    _per_signer(node, [(w, reveal_msg(w, j, tokens=o)) for j, w, o in plan])


def _per_signer(node, signed):
    """One block, one tx per signer holding all its messages (a block holds 50 txs of 2M gas)."""
    by_signer = {}
    for key, msg in signed:
        by_signer.setdefault(key.name, (key, []))[1].append(msg)
    gas = 8 * GAS
    txs = [node.tx(key, *msgs, gas=gas, fee=8 * FEE) for key, msgs in by_signer.values()]
    results = node.block(txs).tx_results
    assert all(r.code == 0 for r in results), [r.log for r in results]


def _stake(node, key):
    return keeper(node, "workers").get_stake(latest_ctx(node), key.address)


def _reputation(node, key):
    return keeper(node, "workers").get_reputation(latest_ctx(node), key.address)


def _gains(node, before):
    return {name: node.balance(key.address) - value for name, (key, value) in before.items()}


def _balances(node, keys):
    return {k.name: (k, node.balance(k.address)) for k in keys}


# --- starvation: 64 decoy disputes must not switch the audit of a later job off -------------


def test_sixty_four_decoy_disputes_do_not_starve_a_later_audit(tmp_path):
    node = _chain(tmp_path, audit_probability="1")
    attacker, victim = node.keys[8], node.keys[7]
    decoy = submit_msg(attacker, redundancy=1, deadline_blocks=40)  # the largest deadline
    node.block([node.tx(attacker, decoy, gas=GAS, fee=FEE) for _ in range(64)])
    node.block()  # assignment spreads them over two blocks
    # each decoy's two hops reveal different outputs: 64 disputes fill the 64 slots
    _play(node, list(range(1, 65)), {(0, 0): OUTPUT, (0, 1): OTHER})
    assert {job(node, j).state for j in range(1, 65)} == {J.JOB_STATE_DISPUTED}
    ok(node, (victim, submit_msg(victim)))
    _play(node, 65, {})  # three agreeing routes: finalized, drawn for audit, payment held
    assert history(node, 65).audit.hold_status == R.HOLD_STATUS_HELD
    assert 65 not in verdicts.open_job_ids(latest_ctx(node), keeper(node, "agreement"))
    workers = _balances(node, [w for r in hops(node, 65) for w in r])
    # the validator checks whatever it is asked about; it finds nothing on the decoys (abstains)
    source = {node.validators[0].name: lambda ids: [_verdict(65, [H_OUT])] if 65 in ids else []}
    bound = node.height + 3 * WINDOW + 2  # the decoys' windows end, then the audit's first
    while history(node, 65).audit.hold_status == R.HOLD_STATUS_HELD and node.height < bound:
        _vote(node, source)
    done = history(node, 65)
    assert done.audit.decided and not done.audit.failed
    assert done.audit.hold_status == R.HOLD_STATUS_PAID
    assert [v.job_id for v in done.votes] == [65]  # paid by a recorded verdict, not by silence
    assert all(gain > 0 for gain in _gains(node, workers).values())
    # the decoys were never decided: refunded, nobody paid
    assert {job(node, j).reason for j in range(1, 65)} == {verifications.UNDECIDED_DISPUTE_REASON}


def test_the_fair_queue_serves_each_submitters_first_verification_before_anyones_second(
    tmp_path,
):
    node = _chain(tmp_path, verification_slots=1)
    attacker, victim = node.keys[8], node.keys[7]
    txs = [
        node.tx(attacker, submit_msg(attacker, redundancy=1), gas=GAS, fee=FEE) for _ in range(3)
    ]
    node.block(txs)
    _play(node, [1, 2, 3], {(0, 0): OUTPUT, (0, 1): OTHER})
    ok(node, (victim, submit_msg(victim, redundancy=1)))
    _play(node, 4, {(0, 0): OUTPUT, (0, 1): OTHER})
    agreement = keeper(node, "agreement")
    ctx = latest_ctx(node)
    assert agreement.active_verification_ids(ctx, 10) == [1]
    assert agreement.queued_verification_ids(ctx, 10) == [4, 2, 3]  # turns 0, 1, 2


def test_within_a_turn_the_verification_carrying_the_larger_fee_is_served_first(tmp_path):
    node = _chain(tmp_path, verification_slots=1, verification_share="0.02")
    first, cheap, rich = node.keys[7], node.keys[8], node.keys[9]
    node.block(
        [
            node.tx(first, submit_msg(first, redundancy=1), gas=GAS, fee=FEE),
            node.tx(cheap, submit_msg(cheap, redundancy=1), gas=GAS, fee=FEE),
        ]
    )
    _play(node, [1, 2], {(0, 0): OUTPUT, (0, 1): OTHER})
    rich_fee = coin_pb2.Coin(denom=DENOM, amount="5000")
    ok(node, (rich, submit_msg(rich, redundancy=1, max_fee=rich_fee)))
    _play(node, 3, {(0, 0): OUTPUT, (0, 1): OTHER})
    ctx = latest_ctx(node)
    agreement = keeper(node, "agreement")
    assert agreement.active_verification_ids(ctx, 10) == [1]
    assert agreement.queued_verification_ids(ctx, 10) == [3, 2]  # fee 100 before fee 20


# --- undecided never means paid ------------------------------------------------------------


def test_more_than_a_third_abstaining_leaves_the_audit_unpaid_and_refunds_the_submitter(tmp_path):
    node = _chain(tmp_path, validators=3, audit_probability="1")
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    _play(node, 1, {})
    workers = _balances(node, [w for r in hops(node, 1) for w in r])
    passing = lambda ids: [_verdict(1, [H_OUT])] if 1 in ids else []  # noqa: E731
    bound = node.height + 3 * WINDOW + 2  # every verdict window, with room
    while history(node, 1).audit.hold_status == R.HOLD_STATUS_HELD and node.height < bound:
        _vote(node, {"val0": passing})  # val1 and val2 (2/3 of the power) abstain
    done = history(node, 1)
    assert done.audit.hold_status == R.HOLD_STATUS_REFUNDED and not done.audit.decided
    assert set(_gains(node, workers).values()) == {0}
    assert node.balance(submitter.address) == INITIAL_BALANCE - FEE
    assert (done.job.refunded, done.settlement.charge) == ("1000", "0")


def test_validators_agreeing_on_the_outcome_but_not_every_byte_still_decide(tmp_path):
    node = _chain(tmp_path, validators=3)
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter, redundancy=2)))
    routes = hops(node, 1)
    _play(node, 1, {(1, 0): OTHER, (1, 1): OTHER})
    assert job(node, 1).state == J.JOB_STATE_DISPUTED
    # all three pass route 0 and fail route 1; they name different culprits besides (1, 1)
    sources = {
        "val0": lambda ids: [_verdict(1, [H_OUT], [(1, 1)])],
        "val1": lambda ids: [_verdict(1, [H_OUT], [(1, 0), (1, 1)])],
        "val2": lambda ids: [_verdict(1, [H_OUT, b"\x05" * 32], [(1, 1)], H_OUT)],
    }
    _vote(node, sources)
    done = history(node, 1)
    assert done.job.state == J.JOB_STATE_FINALIZED and done.job.output_hash == H_OUT
    assert _stake(node, routes[1][1]) == STAKE - STAKE // 5  # named by all three
    assert _stake(node, routes[1][0]) == STAKE  # named by one third only


# --- withholding and inconsistent routes ---------------------------------------------------


def test_withholding_after_peeking_forfeits_like_a_caught_cheat(tmp_path):
    node = _chain(tmp_path)
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    routes = hops(node, 1)
    peeker = routes[2][1]
    r0 = _reputation(node, peeker)
    ok(node, *[(w, commit_msg(w, 1)) for r in routes for w in r])
    # the others reveal; the peeker sees them and keeps its commitment closed
    ok(node, *[(w, reveal_msg(w, 1)) for r in routes for w in r if w is not peeker])
    advance_to(node, job(node, 1).reveal_end_height)
    penalty = next(p for p in history(node, 1).settlement.penalties)
    assert (penalty.worker, penalty.reason) == (peeker.bech32, "no_reveal")
    assert _stake(node, peeker) == STAKE - STAKE // 5  # slash_fraction_cheat's fifth
    assert _reputation(node, peeker) == r0 // 2  # reputation_penalty_cheat


def test_a_hop_that_never_committed_is_only_absent(tmp_path):
    node = _chain(tmp_path)
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    absent = hops(node, 1)[2][1]
    _play(node, 1, {(2, 1): None})
    advance_to(node, job(node, 1).reveal_end_height)
    assert _stake(node, absent) == STAKE - STAKE // 1000


def test_an_inconsistent_route_is_judged_and_its_misreporting_hop_forfeits(tmp_path):
    node = _chain(tmp_path)
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    routes = hops(node, 1)
    _play(node, 1, {(2, 1): OTHER})  # route 2: hop 0 reveals OUTPUT, hop 1 another output
    state = history(node, 1)
    assert state.settlement.claims[2].status == R.ROUTE_STATUS_INCONSISTENT
    assert state.audit.diverged and 1 in verdicts.open_job_ids(
        latest_ctx(node), keeper(node, "agreement")
    )
    _vote(node, {"val0": lambda ids: [_verdict(1, [H_OUT])]})
    assert _stake(node, routes[2][1]) == STAKE - STAKE // 5  # revealed what its route never made
    assert _stake(node, routes[2][0]) == STAKE


# --- a short deadline cannot cut a dispute short -------------------------------------------


def test_a_dispute_opened_at_the_last_reveal_block_gets_its_verdict_and_the_submitter_pays(
    tmp_path,
):
    node = make_job_chain(
        tmp_path / "sd",
        vote_extensions_from=1,
        inference={"min_deadline_blocks": 1},
        agreement={"audit_window_blocks": WINDOW},
    )
    submitter = node.keys[7]
    # the shortest deadline the rounds allow: reveal_end + 1
    ok(node, (submitter, submit_msg(submitter, redundancy=2, deadline_blocks=7)))
    assigned = job(node, 1)
    assert assigned.deadline_height == assigned.reveal_end_height + 1
    routes = hops(node, 1)
    ok(node, *[(w, commit_msg(w, 1)) for w in routes[0]])
    ok(node, *[(w, commit_msg(w, 1, tokens=OTHER)) for w in routes[1]])
    ok(node, *[(w, reveal_msg(w, 1)) for w in routes[0]])
    advance_to(node, assigned.reveal_end_height - 1)
    # the submitter's own workers reveal another output in the last reveal block
    ok(node, *[(w, reveal_msg(w, 1, tokens=OTHER)) for w in routes[1]])
    assert job(node, 1).state == J.JOB_STATE_DISPUTED
    advance_to(node, assigned.deadline_height)
    assert job(node, 1).state == J.JOB_STATE_DISPUTED  # its verdict window outlives the deadline
    _vote(node, {"val0": lambda ids: [_verdict(1, [H_OUT], [(1, 1)])]})
    done = history(node, 1)
    assert done.job.state == J.JOB_STATE_FINALIZED and done.job.output_hash == H_OUT
    charge = int(done.settlement.charge)
    assert charge > 0 and node.balance(submitter.address) == INITIAL_BALANCE - FEE - charge


# --- delivery when routes disagree ---------------------------------------------------------


def test_when_both_outputs_pass_the_one_validators_select_is_delivered_not_the_lowest_hash(
    tmp_path,
):
    node = _chain(tmp_path)
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter, redundancy=2)))
    _play(node, 1, {(1, 0): OTHER, (1, 1): OTHER})
    chosen = max(H_OUT, H_OTHER)  # the lowest hash would win without the selection
    _vote(node, {"val0": lambda ids: [_verdict(1, [H_OUT, H_OTHER], selected=chosen)]})
    done = history(node, 1)
    assert done.job.state == J.JOB_STATE_FINALIZED and done.job.output_hash == chosen
    assert len([p for p in done.settlement.payouts if p.layers]) == 4  # both routes paid


def test_compute_delivered_prefers_the_selection_then_the_most_routes():
    a, b = b"\x01" * 32, b"\x02" * 32
    assert logic.compute_delivered({a: 1, b: 1}, b) == b
    assert logic.compute_delivered({a: 1, b: 2}, b"") == b
    assert logic.compute_delivered({a: 1, b: 1}, b"\x03" * 32) == a
    assert logic.compute_delivered({}, a) is None


# --- validators are paid for verifying, by the decided outcome -----------------------------


def test_validators_matching_the_outcome_are_paid_and_silent_or_dissenting_ones_are_not(
    tmp_path,
):
    node = _chain(tmp_path, validators=4, verification_share="0.04")
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter, redundancy=2)))
    _play(node, 1, {(1, 0): OTHER, (1, 1): OTHER})
    before = _balances(node, node.validators)
    _vote(
        node,
        {
            "val0": lambda ids: [_verdict(1, [H_OUT])],
            "val1": lambda ids: [_verdict(1, [H_OUT])],
            "val2": lambda ids: [_verdict(1, [H_OUT])],
            "val3": lambda ids: [_verdict(1, [H_OTHER])],  # dissents
        },
    )
    gains = _gains(node, before)
    fee = 1000 * 4 // 100  # 4 % of the max fee
    assert gains == {"val0": fee // 4, "val1": fee // 4, "val2": fee // 4, "val3": 0}
    done = history(node, 1)
    assert sum(int(p.amount) for p in done.settlement.payouts if p.verifier) == 3 * fee // 4
    assert int(done.job.refunded) + int(done.settlement.charge) == int(done.job.max_fee)


# --- bounded reads (issue 12 item 8) -------------------------------------------------------


def test_open_verifications_read_only_the_slot_index(tmp_path, monkeypatch):
    node = _chain(tmp_path)
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter, redundancy=2)))
    _play(node, 1, {(1, 0): OTHER, (1, 1): OTHER})
    agreement = keeper(node, "agreement")

    def scan(*args, **kwargs):
        raise AssertionError("scanned every dispute or audit")

    monkeypatch.setattr(agreement, "iterate_all", scan)
    monkeypatch.setattr(agreement, "iterate_audits", scan)
    assert verdicts.open_job_ids(latest_ctx(node), agreement) == [1]
    vote = ExtendedVote(b"\x01" * 20, 1, b"")
    node.app.vote_extensions.process_votes(latest_ctx(node), [vote], 1)


def test_a_verdict_on_a_dispute_closed_out_of_band_only_frees_the_slot(tmp_path):
    node = _chain(tmp_path, verification_share="0.02")
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter, redundancy=2)))
    _play(node, 1, {(1, 0): OTHER, (1, 1): OTHER})
    ctx = latest_ctx(node)
    agreement, inference = keeper(node, "agreement"), keeper(node, "inference")
    inference.expire_job(ctx, inference.get_job(ctx, 1), "closed by a fault barrier")
    vote = ExtendedVote(crypto.consensus_address(validator_pubkey("val0")), 1, b"")
    decision = verdicts.Decision(_verdict(1, [H_OUT]), (vote,))
    verdicts.settle_decision(ctx, agreement, decision, 1)  # escrow already 0: must not raise
    assert agreement.get_verification(ctx, 1) is None
    assert inference.get_job(ctx, 1).state == J.JOB_STATE_EXPIRED
