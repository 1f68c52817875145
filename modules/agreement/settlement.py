"""Tallying a job: quorum, payouts, penalties, disputes and their resolution.

A job is tallied once, at the end of the block in which its reveal round ended (reveal_end, or
earlier when every hop that committed has revealed) or, at the latest, at its deadline:
  1. every hop that revealed nothing is penalized, whatever the outcome: one that never
     committed is absent (reputation x reputation_penalty_absent, slash_fraction_absent of its
     stake); one that committed and withheld forfeits like a caught cheat (reputation x
     reputation_penalty_cheat, slash_fraction_withhold);
  2. an output claimed by at least ceil(r x quorum) COMPLETE routes wins: FINALIZED. When the
     job is drawn for audit, or its routes diverge (some hop revealed another output, or the
     winning routes' last-hop fingerprints differ beyond the divergence params: divergence.py),
     its charge is held until the verdict (audits.py), which names any deviating hop;
  3. otherwise, if hops revealed two or more different outputs, or a COMPLETE route claims an
     output that too few routes confirm: DISPUTED (nothing paid, nobody slashed for the
     disagreement; the validators' verdict decides, in verdict windows that outlive the job's
     deadline (verifications.py), so a lone complete route whose partners never revealed is
     paid when validators pass its output);
  4. otherwise (no complete route): EXPIRED at once with a full refund.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from chain.fixed import Decimal
from infera.agreement.v1 import types_pb2
from infera.inference.v1 import types_pb2 as inference_pb2
from modules.agreement import (
    audits,
    divergence,
    events,
    logic,
    payouts,
    reputations,
    verifications,
)
from modules.agreement.errors import ErrInvalidResolution, ErrNotDisputed

if TYPE_CHECKING:
    from modules.agreement.keeper import AgreementKeeper

J = inference_pb2
COMPLETE = types_pb2.ROUTE_STATUS_COMPLETE
HALF_PRECISION = frozenset({"bfloat16", "float16"})


def settle_job(ctx: Context, keeper: AgreementKeeper, job: inference_pb2.Job) -> None:
    """Tally ``job`` (see the module docstring) and store its settlement."""
    params = keeper.get_params(ctx)
    keeper.unschedule(ctx, job.id)
    revealed = reputations.get_revealed(ctx, keeper, job.id)
    claims = logic.compute_route_claims(job, revealed)
    settlement = types_pb2.Settlement(job_id=job.id, claims=claims, height=ctx.block.height)
    _penalize_absent(ctx, keeper, job, revealed, params, settlement)
    quorum = logic.compute_quorum(
        job.redundancy, params.quorum_numerator, params.quorum_denominator
    )
    winner = logic.compute_winner(claims, quorum)
    if winner is not None:
        outvoted = any(output_hash != winner for output_hash in revealed.values())
        diverged = outvoted or _routes_diverge(ctx, keeper, job, claims, winner, params)
        # The draw: randomness revealed after the commitments were final (beacon of the
        # commit-end height); none revealed yet counts as drawn (audit, never skip).
        randomness: bytes | None = ctx.block.hash
        if keeper.beacon is not None:
            randomness = keeper.beacon.get_randomness(ctx, job.commit_end_height)
        drawn = randomness is None or logic.is_audited(randomness, job.id, params.audit_probability)
        # An undisclosed sealed job has nothing a verifier could re-score: no random audit
        # (docs/private-jobs.md); divergence still sends it to verification.
        drawn = drawn and not _is_undisclosed_sealed(job)
        _finalize(
            ctx, keeper, job, winner, settlement, audited=drawn or diverged, diverged=diverged
        )
    elif logic.is_disagreement(revealed) or logic.has_complete_route(claims):
        _open_dispute(ctx, keeper, job, claims, settlement)
    else:
        settlement.outcome = types_pb2.OUTCOME_NO_QUORUM
        keeper.inference.expire_job(ctx, job, f"fewer than {quorum} routes revealed an output")
    keeper.set_settlement(ctx, settlement)


def _is_undisclosed_sealed(job: inference_pb2.Job) -> bool:
    return job.privacy == inference_pb2.PRIVACY_MODE_SEALED and not job.sealed.disclosed_height


def _routes_diverge(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    claims: list[types_pb2.RouteClaim],
    winner: bytes,
    params: types_pb2.Params,
) -> bool:
    """Whether the last-hop fingerprint of a complete route claiming ``winner`` differs from
    the lowest such route's beyond the divergence param of the pair's precision class
    (divergence.py). Any pair over it means some route's hidden states are off even though its
    tokens agree: the job is audited whatever the draw."""
    routes = sorted(logic.complete_routes_by_output(claims).get(winner, []))
    if len(routes) < 2:
        return False
    bundles, half = {}, {}
    for route in routes:
        hops = job.routes[route].hops
        reveal = keeper.get_reveal(ctx, job.id, route, len(hops) - 1)
        assert reveal is not None  # a complete route revealed at every hop
        bundles[route] = reveal.shard_fingerprint
        half[route] = job.precision in HALF_PRECISION  # the job's class, fixed at assignment
    first = routes[0]
    calibrated = _calibrated_noise(ctx, keeper, job)
    for route in routes[1:]:
        tolerance = Decimal.parse(
            params.divergence_half_precision
            if half[first] or half[route]
            else params.divergence_full_precision
        )
        if calibrated is not None and calibrated.raw < tolerance.raw:
            tolerance = calibrated
        if divergence.diverge(bundles[first], bundles[route], tolerance):
            return True
    return False


def _calibrated_noise(
    ctx: Context, keeper: AgreementKeeper, job: inference_pb2.Job
) -> Decimal | None:
    """The noise bound the job's model registered for the job's precision class
    (Model.verifier_tolerances, measured by bench/calibrate_tolerances.py), None without one.
    The divergence rule uses it where it is tighter than the class param: a model whose honest
    replicas differ less gets its smaller cheats audited too (int8 weights on one hop)."""
    if keeper.models is None:
        return None
    model = keeper.models.get_model(ctx, job.model_id)
    precision = job.precision or "float32"
    for tolerance in model.verifier_tolerances if model is not None else ():
        if tolerance.dtype == precision:
            return Decimal.ratio(tolerance.noise_ppm, 1_000_000)
    return None


def _minority_reserve(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    claims: Sequence[types_pb2.RouteClaim],
    passing: frozenset[bytes],
    charge: int,
) -> int:
    """What an audited job also holds for its COMPLETE routes with another output: the price
    of each such output over the routes claiming it, summed, capped by the escrow left after
    ``charge``. A verdict that passes such an output pays its routes from it (audits.py)."""
    total = 0
    for output_hash, routes in sorted(logic.complete_routes_by_output(claims).items()):
        if output_hash in passing:
            continue
        output = keeper.get_output(ctx, job.id, output_hash)
        assert output is not None  # every revealed hash has its output stored
        total += logic.compute_price(job, output.billable_tokens, len(routes))
    return min(total, int(job.escrow) - charge)


def _penalize_absent(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    revealed: dict[logic.Position, bytes],
    params: types_pb2.Params,
    settlement: types_pb2.Settlement,
) -> None:
    """Slash and lower the reputation of every hop that revealed nothing, except the hops a
    sealed job excuses (logic.compute_excused: a contested box, or the route's first hop's).

    A hop that never committed saw nothing of the others (their reveals open only after the
    commit round): it is absent (``slash_fraction_absent``, ``reputation_penalty_absent``). A
    hop that committed and then withheld its reveal may have waited for the other reveals and
    the divergence rule before deciding not to show its own: it forfeits like a caught cheat
    (``slash_fraction_withhold`` >= ``slash_fraction_cheat``, ``reputation_penalty_cheat``)."""
    committed = {(c.route_index, c.hop_index) for c in keeper.iterate_commitments(ctx, job.id)}
    excused = logic.compute_excused(job)  # sealed jobs: boxes said not to open
    absent = logic.decimal_ratio(params.reputation_penalty_absent)
    withheld = logic.decimal_ratio(params.reputation_penalty_cheat)
    for route_index, route in enumerate(job.routes):
        for hop_index, hop in enumerate(route.hops):
            if (route_index, hop_index) in revealed or (route_index, hop_index) in excused:
                continue
            withholds = (route_index, hop_index) in committed
            reason = "no_reveal" if withholds else "no_commit"
            fraction = params.slash_fraction_withhold if withholds else params.slash_fraction_absent
            penalty = withheld if withholds else absent
            operator = crypto.from_bech32(hop.worker)
            slashed = keeper.workers.slash(ctx, operator, fraction, reason)
            settlement.penalties.add(
                worker=hop.worker,
                route_index=route_index,
                hop_index=hop_index,
                slashed=str(slashed),
                reason=reason,
            )
            reputation = reputations.adjust_reputation(ctx, keeper, hop.worker, penalty, settlement)
            ctx.events.emit(
                events.WORKER_PENALIZED,
                attr("job_id", job.id, index=True),
                attr("worker", hop.worker, index=True),
                attr("reason", reason),
                attr("slashed", slashed),
                attr("reputation", reputation),
            )


def _finalize(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    winner: bytes,
    settlement: types_pb2.Settlement,
    also_passing: frozenset[bytes] = frozenset(),
    audited: bool = False,
    culprit_routes: frozenset[int] = frozenset(),
    diverged: bool = False,
) -> None:
    """Pay the winning routes' hops and the protocol, adjust reputations, refund the rest.

    Complete routes that revealed ``winner`` win; so do those whose output is in
    ``also_passing`` (validators found it acceptable too: honest near-tie divergence). An
    ``audited`` job's charge, and its reputation changes, are held until the audit verdict
    instead (audits.py; ``diverged`` records that the routes' divergence made it one). Hops on
    ``culprit_routes`` (a verdict named a culprit there) take no mismatch penalty
    (reputations.py).
    """
    passing = also_passing | {winner}
    winning = [
        c.route_index
        for c in settlement.claims
        if c.status == COMPLETE and c.output_hash in passing
    ]
    output = keeper.get_output(ctx, job.id, winner)
    assert output is not None  # every revealed hash has its output stored
    charge = logic.compute_charge(job, output.billable_tokens, len(winning))
    planned = payouts.plan_payouts(ctx, keeper, job, winning, charge)
    protocol_amount = int(planned[-1].amount)  # the fee collector's entry comes last
    if audited:
        reserve = _minority_reserve(ctx, keeper, job, settlement.claims, passing, charge)
        held = audits.open_audit(
            ctx, keeper, job, winner, planned, diverged=diverged, reserve=reserve
        )
    else:
        held = 0
        denom = keeper.inference.get_params(ctx).fee_denom
        payouts.pay_out(
            ctx,
            job.id,
            planned,
            settlement,
            lambda recipient, amount: keeper.inference.pay_from_escrow(
                ctx, job, recipient, amount, denom
            ),
        )
    if not audited:
        reputations.adjust_reputations(
            ctx, keeper, job, passing, winning, settlement, culprit_routes
        )
    refunded = keeper.inference.refund_escrow(ctx, job)
    job.state, job.output_hash, job.final_height = J.JOB_STATE_FINALIZED, winner, ctx.block.height
    keeper.inference.set_job(ctx, job)
    settlement.outcome = types_pb2.OUTCOME_FINALIZED
    settlement.winning_output_hash = winner
    settlement.charge, settlement.protocol_amount = str(charge), str(protocol_amount)
    ctx.events.emit(
        events.JOB_FINALIZED,
        attr("job_id", job.id, index=True),
        attr("model_id", job.model_id, index=True),
        attr("submitter", job.submitter, index=True),
        attr("output_hash", winner.hex()),
        attr("charge", charge),
        attr("protocol_amount", protocol_amount),
        attr("refunded", refunded),
        attr("winning_routes", ",".join(str(r) for r in winning)),
        attr("held", held),
    )


def _open_dispute(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    claims: list[types_pb2.RouteClaim],
    settlement: types_pb2.Settlement,
) -> None:
    """Record every route's claim and open its verification (verifications.py): the escrow
    stays until the validators' verdict, or until the verdict windows end undecided (refund)."""
    job.state = J.JOB_STATE_DISPUTED
    keeper.inference.set_job(ctx, job)
    keeper.set_dispute(
        ctx, types_pb2.Dispute(job_id=job.id, claims=claims, opened_height=ctx.block.height)
    )
    fee = verifications.compute_fee(keeper.get_params(ctx), int(job.max_fee), int(job.escrow))
    verifications.open_verification(ctx, keeper, job, verifications.DISPUTE, fee)
    settlement.outcome = types_pb2.OUTCOME_DISPUTED
    ctx.events.emit(
        events.JOB_DISPUTED,
        attr("job_id", job.id, index=True),
        attr("model_id", job.model_id, index=True),
        attr("submitter", job.submitter, index=True),
        *(
            attr(
                "claim",
                f"{c.route_index}:{types_pb2.RouteStatus.Name(c.status)}:{c.output_hash.hex()}",
            )
            for c in claims
        ),
    )


def resolve_dispute(
    ctx: Context,
    keeper: AgreementKeeper,
    job_id: int,
    winning_output_hash: bytes,
    also_passing: frozenset[bytes] = frozenset(),
    culprit_routes: frozenset[int] = frozenset(),
) -> None:
    """Finalize a DISPUTED job with the validators' verdict (see AgreementKeeper); hops on
    ``culprit_routes`` take no mismatch penalty (the verdict punishes the culprit)."""
    job = keeper.inference.get_job(ctx, job_id)
    dispute = keeper.get_dispute(ctx, job_id)
    if job is None or dispute is None or job.state != J.JOB_STATE_DISPUTED or dispute.resolved:
        raise ErrNotDisputed(f"job {job_id}")
    if not any(
        c.status == COMPLETE and c.output_hash == winning_output_hash for c in dispute.claims
    ):
        raise ErrInvalidResolution(f"job {job_id} output {winning_output_hash.hex()}")
    settlement = keeper.get_settlement(ctx, job_id)
    assert settlement is not None  # a dispute is opened by a tally, which stores one
    _finalize(
        ctx,
        keeper,
        job,
        winning_output_hash,
        settlement,
        also_passing,
        culprit_routes=culprit_routes,
    )
    keeper.set_settlement(ctx, settlement)
    dispute.resolved = True
    dispute.winning_output_hash = winning_output_hash
    dispute.resolved_height = ctx.block.height
    keeper.set_dispute(ctx, dispute)
    ctx.events.emit(
        events.DISPUTE_RESOLVED,
        attr("job_id", job_id, index=True),
        attr("output_hash", winning_output_hash.hex()),
    )


def resolve_by_votes(ctx: Context, keeper: AgreementKeeper, job_id: int, total_power: int) -> bool:
    """Resolve a dispute when stored votes give one claimed output more than 2/3 of
    ``total_power``; returns whether it did (the verification module calls this)."""
    winner = logic.compute_vote_winner(keeper.iterate_votes(ctx, job_id), total_power)
    if winner is None:
        return False
    resolve_dispute(ctx, keeper, job_id, winner)
    return True
