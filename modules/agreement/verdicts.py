"""Validators' verdicts on disputed and audited jobs, delivered through vote extensions.

Each validator running a verifier (teacher-forced re-scoring plus per-hop fingerprint checks;
see inference_worker/verify/verifier.py) attaches a ``VoteExtension`` of ``Verdict``s to its
precommit, for the jobs holding a verification slot (verifications.py: at most 64, read from
the slot index). The next block carries those extensions (chain/vote_extensions.py verifies
their signatures and the power behind them); here every verdict is recorded and each job's
verdicts are tallied by voting power **per claimed output and per hop** (compute_decision), so
validators that agree on the outcome but differ in a detail still decide. A job is decided when
every output a complete route claimed passes or fails with more than 2/3 of the height's total
power; culprits are the hops more than 2/3 name. The decision is applied:
  - disputed job: the passing output the validators selected (logic.compute_delivered) is
    delivered and every complete route that revealed a passing output is paid (honest
    near-tie divergence is not punished); with no passing output the submitter is refunded;
    each culprit hop is slashed ``slash_fraction_cheat`` and its reputation multiplied by
    ``reputation_penalty_cheat``.
  - audited job (finalized by agreement, drawn with ``audit_probability``; its charge is held,
    audits.py): if its output is among the passing ones the held payouts are made; otherwise
    the output of a complete route the verdict passes is delivered and that route paid out of
    the hold (the rest refunded), or with none the submitter gets the held charge back; the
    culprit hops (colluders) are slashed the same way.
  - an INCONSISTENT route where one hop revealed a passing output: its hops that revealed a
    failing one forfeit like a caught cheat (unless a culprit is named on that route).
  - the validators whose verdict matched the decided outputs share the job's verification fee
    by power; silent and dissenting ones get nothing of it (their share is refunded).
On a route with a named culprit the other hops take no mismatch penalty (reputations.py).
Validators without a verifier send empty extensions: they abstain. Abstention never pays: a
verification undecided after its verdict windows is refunded to the submitter, nobody paid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import chain.pb  # noqa: F401

from google.protobuf.message import DecodeError

from chain import crypto
from chain.context import Context
from chain.errors import ChainError
from chain.events import attr
from chain.vote_extensions import ExtendedVote
from infera.agreement.v1 import types_pb2
from infera.inference.v1 import types_pb2 as inference_pb2
from modules.agreement import audits, events, logic, payouts, settlement, verifications

if TYPE_CHECKING:
    from modules.agreement.keeper import AgreementKeeper

MAX_VERDICTS = 64  # per vote extension
MAX_PASSING = 8  # passing outputs per verdict (at most one per route)
MAX_CULPRITS = 64  # culprit hops per verdict

# A node-local source of this validator's verdicts (the verifier sidecar's inbox): given the
# ids of the jobs open for verdicts, it returns the verdicts it has for them.
VerdictSource = Callable[[Sequence[int]], Sequence[types_pb2.Verdict]]


def is_canonical_verdict(verdict: types_pb2.Verdict) -> bool:
    """Sorted, duplicate-free and bounded, so equal findings have equal bytes."""
    passing = list(verdict.passing_output_hashes)
    culprits = [(c.route_index, c.hop_index) for c in verdict.culprits]
    return (
        len(passing) <= MAX_PASSING
        and len(culprits) <= MAX_CULPRITS
        and all(len(h) == logic.HASH_LENGTH for h in passing)
        and passing == sorted(set(passing))
        and culprits == sorted(set(culprits))
    )


def decode_extension(extension: bytes) -> types_pb2.VoteExtension | None:
    """The extension's verdicts, or None when it is not a canonical VoteExtension."""
    message = types_pb2.VoteExtension()
    try:
        message.ParseFromString(extension)
    except DecodeError:
        return None
    message.DiscardUnknownFields()
    if message.SerializeToString(deterministic=True) != extension:
        return None  # unknown fields or a non-canonical encoding
    ids = [v.job_id for v in message.verdicts]
    if len(ids) > MAX_VERDICTS or ids != sorted(set(ids)):
        return None
    if not all(is_canonical_verdict(v) for v in message.verdicts):
        return None
    return message


def is_open_for_verdicts(ctx: Context, keeper: AgreementKeeper, job_id: int) -> bool:
    """The job's dispute or audit holds a verification slot (verifications.py)."""
    return verifications.is_open_for_verdicts(ctx, keeper, job_id)


def open_job_ids(ctx: Context, keeper: AgreementKeeper, limit: int = MAX_VERDICTS) -> list[int]:
    """Jobs validators should give verdicts on now: those holding a verification slot (at most
    ``verification_slots`` <= 64, read from the slot index, never from every dispute ever)."""
    return keeper.active_verification_ids(ctx, limit)


Ballot = tuple[ExtendedVote, types_pb2.Verdict]


@dataclass(frozen=True)
class Decision:
    """What more than 2/3 of the power found, output by output and hop by hop."""

    verdict: types_pb2.Verdict  # decided passing outputs, culprits and the selected output
    agreeing: tuple[ExtendedVote, ...]  # voters whose passing outputs match the decision


def compute_decision(
    job_id: int, relevant: frozenset[bytes], ballots: Sequence[Ballot], total_power: int
) -> Decision | None:
    """Tally one job's verdicts by power, per claimed output and per hop (not per byte-identical
    verdict, so validators that agree on the outcome but differ in a detail still decide).

    Each output a complete route claimed (``relevant``) passes when validators holding more
    than 2/3 of ``total_power`` pass it, fails when more than 2/3 voted on the job without
    passing it; the job is decided once every such output is (with none, once more than 2/3
    voted). A hop is a culprit when more than 2/3 name it. Of the passing outputs, the one most
    power selected (ties by hash) is the selected one. None while undecided (abstention counts
    for nobody)."""
    voted = sum(vote.power for vote, _ in ballots)
    passing = []
    for output_hash in sorted(relevant):
        yes = sum(v.power for v, verdict in ballots if output_hash in verdict.passing_output_hashes)
        if 3 * yes > 2 * total_power:
            passing.append(output_hash)
        elif 3 * (voted - yes) <= 2 * total_power:
            return None
    if 3 * voted <= 2 * total_power:
        return None
    named: dict[tuple[int, int], int] = defaultdict(int)
    selecting: dict[bytes, int] = defaultdict(int)
    for vote, verdict in ballots:
        for culprit in verdict.culprits:
            named[(culprit.route_index, culprit.hop_index)] += vote.power
        if verdict.selected_output_hash in passing:
            selecting[verdict.selected_output_hash] += vote.power
    culprits = sorted(hop for hop, power in named.items() if 3 * power > 2 * total_power)
    ranked = sorted(selecting.items(), key=lambda item: (-item[1], item[0]))
    decided = types_pb2.Verdict(
        job_id=job_id,
        passing_output_hashes=passing,
        culprits=[types_pb2.Culprit(route_index=r, hop_index=h) for r, h in culprits],
        selected_output_hash=ranked[0][0] if ranked else b"",
    )
    agreeing = tuple(
        vote
        for vote, verdict in ballots
        if sorted(relevant & set(verdict.passing_output_hashes)) == passing
    )
    return Decision(decided, agreeing)


class VerdictVotes:
    """The agreement module's vote-extension handler (chain.vote_extensions.VoteExtensionHandler)."""

    def __init__(self, keeper: AgreementKeeper, source: VerdictSource | None = None) -> None:
        self.keeper = keeper
        self.source = source  # node-local; None for a validator without a verifier

    def extend_vote(self, ctx: Context, height: int) -> bytes:
        if self.source is None:
            return b""
        open_ids = set(open_job_ids(ctx, self.keeper))
        verdicts = sorted(
            (v for v in self.source(sorted(open_ids)) if v.job_id in open_ids),
            key=lambda v: v.job_id,
        )
        unique = {v.job_id: v for v in verdicts if is_canonical_verdict(v)}
        message = types_pb2.VoteExtension(verdicts=[unique[i] for i in sorted(unique)])
        return message.SerializeToString(deterministic=True) if unique else b""

    def verify_vote_extension(self, extension: bytes) -> bool:
        return extension == b"" or decode_extension(extension) is not None

    def process_votes(self, ctx: Context, votes: Sequence[ExtendedVote], total_power: int) -> None:
        """Record every verdict on a job holding a slot, then settle the jobs whose verdicts
        decide (compute_decision)."""
        ballots: dict[int, list[Ballot]] = defaultdict(list)
        for vote in votes:
            message = decode_extension(vote.extension) if vote.extension else None
            for verdict in message.verdicts if message is not None else ():
                if not is_open_for_verdicts(ctx, self.keeper, verdict.job_id):
                    continue
                _record(ctx, self.keeper, vote, verdict)
                ballots[verdict.job_id].append((vote, verdict))
        for job_id in sorted(ballots):
            relevant = _relevant_outputs(ctx, self.keeper, job_id)
            decision = compute_decision(job_id, relevant, ballots[job_id], total_power)
            if decision is not None:
                self._apply(ctx, decision, total_power)

    def _apply(self, ctx: Context, decision: Decision, total_power: int) -> None:
        """Settle a decided job on its own branch: one that cannot be applied changes nothing."""
        child, cache = ctx.branch()
        try:
            settle_decision(child, self.keeper, decision, total_power)
        except ChainError as err:
            ctx.events.emit(
                events.VERDICT_RECORDED,
                attr("job_id", decision.verdict.job_id, index=True),
                attr("rejected", err.log),
            )
            return
        cache.write()
        ctx.events.extend(child.events)


def _relevant_outputs(ctx: Context, keeper: AgreementKeeper, job_id: int) -> frozenset[bytes]:
    """The outputs complete routes of the job claimed at its tally: what a verdict decides."""
    settlement = keeper.get_settlement(ctx, job_id)
    assert settlement is not None  # a verification is opened by a tally, which stores one
    return frozenset(logic.complete_routes_by_output(settlement.claims))


def settle_decision(
    ctx: Context, keeper: AgreementKeeper, decision: Decision, total_power: int
) -> None:
    """Pay the validators that decided, apply the verdict, close the verification."""
    job_id = decision.verdict.job_id
    verification = keeper.get_verification(ctx, job_id)
    job = keeper.inference.get_job(ctx, job_id)
    assert verification is not None and job is not None  # open_for_verdicts checked it
    if not verifications.is_still_open(ctx, keeper, verification):
        verifications.close(ctx, keeper, job_id)  # nothing left to decide: free the slot
        return
    made = _pay_verifiers(ctx, keeper, job, verification, decision, total_power)
    apply_verdict(ctx, keeper, decision.verdict)
    settlement = keeper.get_settlement(ctx, job_id)
    assert settlement is not None
    settlement.payouts.extend(made)
    settlement.charge = str(int(settlement.charge or "0") + payouts.compute_total(made))
    keeper.set_settlement(ctx, settlement)
    verifications.close(ctx, keeper, job_id)


def _pay_verifiers(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    verification: types_pb2.Verification,
    decision: Decision,
    total_power: int,
) -> list[types_pb2.Payout]:
    """Pay the verification fee's earned shares: out of a dispute's escrow (the rest stays in
    it and is refunded with it), or out of an audit's hold (the rest goes back now)."""
    denom = keeper.inference.get_params(ctx).fee_denom
    if verification.kind == verifications.DISPUTE:
        made = verifications.pay_verifiers(
            ctx,
            keeper,
            verification,
            decision.agreeing,
            total_power,
            lambda to, amount: keeper.inference.pay_from_escrow(ctx, job, to, amount, denom),
        )
        keeper.inference.set_job(ctx, job)
        return made
    audit = keeper.get_audit(ctx, job.id)
    assert audit is not None
    fee = int(audit.verification_fee or "0")
    send = audits.hold_sender(ctx, keeper, audit)
    made = verifications.pay_verifiers(
        ctx, keeper, verification, decision.agreeing, total_power, send
    )
    if fee - payouts.compute_total(made) > 0:
        audits.refund_to_submitter(ctx, keeper, job, audit, fee - payouts.compute_total(made), None)
    audit.held_amount = str(int(audit.held_amount) - fee)
    keeper.set_audit(ctx, audit)
    return made


def _record(
    ctx: Context, keeper: AgreementKeeper, vote: ExtendedVote, verdict: types_pb2.Verdict
) -> None:
    passing = list(verdict.passing_output_hashes)
    record = types_pb2.DisputeVote(
        job_id=verdict.job_id,
        validator=vote.validator_address.hex(),
        output_hash=passing[0] if passing else b"",
        power=vote.power,
        height=ctx.block.height,
        passing_output_hashes=passing,
        culprits=list(verdict.culprits),
    )
    keeper.set_vote(ctx, vote.validator_address, record)
    ctx.events.emit(
        events.VERDICT_RECORDED,
        attr("job_id", verdict.job_id, index=True),
        attr("validator", vote.validator_address.hex(), index=True),
        attr("power", vote.power),
    )


def apply_verdict(ctx: Context, keeper: AgreementKeeper, verdict: types_pb2.Verdict) -> None:
    """Settle a dispute or decide an audit as the validators found (see module docstring)."""
    job = keeper.inference.get_job(ctx, verdict.job_id)
    assert job is not None  # open_for_verdicts checked it
    passing = frozenset(verdict.passing_output_hashes)
    culprit_routes = frozenset(route for route, _ in _culprit_positions(job, verdict))
    audit = keeper.get_audit(ctx, job.id)
    if job.state == inference_pb2.JOB_STATE_DISPUTED:
        dispute = keeper.get_dispute(ctx, job.id)
        assert dispute is not None
        groups = logic.complete_routes_by_output(dispute.claims)
        claimed = {h: len(routes) for h, routes in groups.items() if h in passing}
        delivered = logic.compute_delivered(claimed, verdict.selected_output_hash)
        if delivered is not None:
            settlement.resolve_dispute(
                ctx, keeper, job.id, delivered, passing - {delivered}, culprit_routes
            )
        else:
            keeper.inference.expire_job(ctx, job, "validators found no claimed output correct")
            _close_dispute(ctx, keeper, job.id)
    elif audit is not None:
        audits.decide_audit(
            ctx, keeper, job, audit, passing, culprit_routes, verdict.selected_output_hash
        )
    _punish_culprits(ctx, keeper, job, verdict)
    _punish_inconsistent(ctx, keeper, job, passing, culprit_routes)


def _culprit_positions(job: inference_pb2.Job, verdict: types_pb2.Verdict) -> list[tuple[int, int]]:
    """The verdict's culprits that name a hop of the job (others are ignored), sorted."""
    return [
        (c.route_index, c.hop_index)
        for c in verdict.culprits
        if c.route_index < len(job.routes) and c.hop_index < len(job.routes[c.route_index].hops)
    ]


def _close_dispute(ctx: Context, keeper: AgreementKeeper, job_id: int) -> None:
    dispute = keeper.get_dispute(ctx, job_id)
    assert dispute is not None
    dispute.resolved, dispute.resolved_height = True, ctx.block.height
    keeper.set_dispute(ctx, dispute)


def _punish_culprits(
    ctx: Context, keeper: AgreementKeeper, job: inference_pb2.Job, verdict: types_pb2.Verdict
) -> None:
    params = keeper.get_params(ctx)
    penalty = logic.decimal_ratio(params.reputation_penalty_cheat)
    for route_index, hop_index in _culprit_positions(job, verdict):
        worker = job.routes[route_index].hops[hop_index].worker
        operator = crypto.from_bech32(worker)
        slashed = keeper.workers.slash(ctx, operator, params.slash_fraction_cheat, "deviated")
        try:
            reputation = keeper.workers.adjust_reputation(ctx, operator, *penalty)
        except ChainError:
            reputation = -1
        ctx.events.emit(
            events.WORKER_PENALIZED,
            attr("job_id", job.id, index=True),
            attr("worker", worker, index=True),
            attr("reason", "deviated"),
            attr("slashed", slashed),
            attr("reputation", reputation),
        )


def _punish_inconsistent(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    passing: frozenset[bytes],
    culprit_routes: frozenset[int],
) -> None:
    """Judge every INCONSISTENT route (its hops revealed different outputs). All hops of a
    route saw the same generation, so when one of them revealed an output the verdict passes,
    the route's hops that revealed a failing one misreported it: they forfeit like a caught
    cheat (``slash_fraction_withhold``, ``reputation_penalty_cheat``; reason
    ``inconsistent_reveal``). Where the verdict names a culprit on the route, only the culprit
    is punished (verdicts name who deviated from the frames each hop was sent)."""
    params = keeper.get_params(ctx)
    penalty = logic.decimal_ratio(params.reputation_penalty_cheat)
    revealed = {
        (r.route_index, r.hop_index): r.output_hash for r in keeper.iterate_reveals(ctx, job.id)
    }
    for route_index, route in enumerate(job.routes):
        hashes = [revealed.get((route_index, h)) for h in range(len(route.hops))]
        if route_index in culprit_routes or None in hashes or len(set(hashes)) < 2:
            continue
        if not any(h in passing for h in hashes):
            continue
        for hop_index, output_hash in enumerate(hashes):
            if output_hash in passing:
                continue
            worker = route.hops[hop_index].worker
            operator = crypto.from_bech32(worker)
            slashed = keeper.workers.slash(
                ctx, operator, params.slash_fraction_withhold, "inconsistent_reveal"
            )
            try:
                reputation = keeper.workers.adjust_reputation(ctx, operator, *penalty)
            except ChainError:
                reputation = -1
            ctx.events.emit(
                events.WORKER_PENALIZED,
                attr("job_id", job.id, index=True),
                attr("worker", worker, index=True),
                attr("reason", "inconsistent_reveal"),
                attr("slashed", slashed),
                attr("reputation", reputation),
            )
