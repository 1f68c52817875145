"""Audits of jobs finalized by agreement, and the payment each audit holds back.

Agreement alone cannot tell a colluding quorum from an honest one, so a job finalized by
agreement is drawn for audit when sha256("audit" || block hash || job id) falls below
``audit_probability`` (logic.is_audited; nobody knows the draw before the block). It is audited
whatever the draw when its routes diverge (settlement.py; ``Audit.diverged``): a hop revealed
another output than the winner, or the winning routes' last-hop fingerprints differ
(divergence.py: a hop changed the hidden states without flipping a token). An audited job's
charge is not paid at finalization: it moves from the job's escrow into the
``agreement_audit_hold`` module account, and the payouts finalization would have made are
recorded on the ``Audit``; so is a reserve for the COMPLETE routes that claimed another
output (their price, ``Audit.reserve_amount``). The job's reputation changes wait with its
payment (reputations.py). The hold ends exactly once:
  - the validators' verdict passes the agreed output: the recorded payouts are made, unchanged,
    and reputations change as finalization would have changed them; complete routes whose other
    output the verdict passes too are paid their price out of the reserve (and rewarded), the
    rest of the reserve goes back to the submitter;
  - the verdict fails it and passes an output some other COMPLETE route claimed (an honest
    minority outvoted by colluders): the first such output (by hash) is delivered instead, the
    complete routes that claimed a passing output are paid what a quorum of them would have
    been (the charge counted over those routes, capped by the held amount) out of the hold, and
    the rest of the hold goes back to the submitter;
  - the verdict fails it and passes no claimed output: the whole held amount goes back to the
    submitter (the settlement's charge becomes 0, the job's ``refunded`` grows by it);
  - the audit window ends with no verdict (validators abstained or did not reach 2/3): the
    payouts are made as if the audit passed (the reserve goes back). Silence is no evidence against anyone, and the
    workers should not lose honest pay because validators run no verifier.
In every failing case the culprits are slashed (verdicts.py) and their routes' other hops take
no mismatch penalty. A failed audit's job stays FINALIZED with the audit marked failed; its
``output_hash`` is the delivered output, or the refuted one when none passed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from chain.tx import Coin
from infera.agreement.v1 import types_pb2
from infera.inference.v1 import types_pb2 as inference_pb2
from modules.agreement import events, keys, logic, payouts, reputations, verifications

if TYPE_CHECKING:
    from modules.agreement.keeper import AgreementKeeper

REFUND_REASON = "audit failed: validators refuted the agreed output; charge refunded"
REDELIVER_REASON = "audit failed: agreed output refuted; a passing route's output delivered instead"


def hold_address() -> bytes:
    return crypto.module_address(keys.AUDIT_HOLD_ACCOUNT)


def open_audit(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    winner: bytes,
    planned: list[types_pb2.Payout],
    *,
    diverged: bool = False,
    reserve: int = 0,
) -> int:
    """Move the job's charge (the sum of ``planned``) from its escrow into the audit hold, record
    the audit (``diverged``: opened because the routes diverged, not only drawn) and
    schedule the end of its window; returns the amount held. ``reserve`` more is held for
    complete routes with another output (``Audit.reserve_amount``). The caller stores the
    job."""
    params = keeper.get_params(ctx)
    denom = keeper.inference.get_params(ctx).fee_denom
    charged = payouts.compute_total(planned) + reserve
    fee = verifications.compute_fee(params, int(job.max_fee), int(job.escrow) - charged)
    held = charged + fee
    keeper.inference.pay_from_escrow(ctx, job, hold_address(), held, denom)
    audit = types_pb2.Audit(
        job_id=job.id,
        output_hash=winner,
        opened_height=ctx.block.height,
        held_amount=str(held),
        denom=denom,
        payouts=planned,
        hold_status=types_pb2.HOLD_STATUS_HELD,
        diverged=diverged,
        reserve_amount=str(reserve),
        verification_fee=str(fee),
    )
    keeper.set_audit(ctx, audit)
    # Its verdict window (and deadline_height) starts when the verification gets a slot.
    verifications.open_verification(ctx, keeper, job, verifications.AUDIT, fee)
    audit = keeper.get_audit(ctx, job.id)
    assert audit is not None
    deadline = audit.deadline_height  # 0 while it waits for a slot
    ctx.events.emit(
        events.JOB_AUDITED,
        attr("job_id", job.id, index=True),
        attr("model_id", job.model_id, index=True),
        attr("deadline_height", deadline),
        attr("diverged", "true" if diverged else "false"),
    )
    ctx.events.emit(
        events.PAYOUT_HELD,
        attr("job_id", job.id, index=True),
        attr("amount", held),
        attr("release_height", deadline),
    )
    return held


def decide_audit(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    audit: types_pb2.Audit,
    passing: frozenset[bytes],
    culprit_routes: frozenset[int] = frozenset(),
    selected: bytes = b"",
) -> None:
    """Apply the validators' verdict: pay the hold when the agreed output passed, else deliver a
    passing route's output or refund the hold (see the module docstring). When several claimed
    outputs pass, the one the validators' recomputation ``selected`` is delivered."""
    audit.decided, audit.failed = True, audit.output_hash not in passing
    ctx.events.emit(
        events.AUDIT_DECIDED,
        attr("job_id", job.id, index=True),
        attr("failed", "true" if audit.failed else "false"),
    )
    if audit.hold_status == types_pb2.HOLD_STATUS_HELD:
        if not audit.failed:
            _release(ctx, keeper, job, audit, "audit passed", culprit_routes, passing)
            _deliver_selected(ctx, keeper, job, passing, selected)
        elif _passing_routes(ctx, keeper, job.id, passing):
            _redeliver(ctx, keeper, job, audit, passing, culprit_routes, selected)
        else:
            _refund(ctx, keeper, job, audit, passing, culprit_routes)
    keeper.set_audit(ctx, audit)
    keeper.unschedule(ctx, job.id)


def _deliver_selected(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    passing: frozenset[bytes],
    selected: bytes,
) -> None:
    """A passed audit where another complete route's output passed too: deliver the one the
    validators selected (logic.compute_delivered), not simply the majority's."""
    settlement = keeper.get_settlement(ctx, job.id)
    assert settlement is not None
    groups = logic.complete_routes_by_output(settlement.claims)
    claimed = {h: len(r) for h, r in groups.items() if h in passing}
    delivered = logic.compute_delivered(claimed, selected)
    if delivered is None or delivered == job.output_hash:
        return
    settlement.winning_output_hash = job.output_hash = delivered
    keeper.set_settlement(ctx, settlement)
    keeper.inference.set_job(ctx, job)


def _passing_routes(
    ctx: Context, keeper: AgreementKeeper, job_id: int, passing: frozenset[bytes]
) -> list[int]:
    """The COMPLETE routes whose claimed output is in ``passing``, in route order."""
    settlement = keeper.get_settlement(ctx, job_id)
    assert settlement is not None  # the tally that opened the audit stored it
    groups = logic.complete_routes_by_output(settlement.claims)
    return sorted(
        route for output, routes in groups.items() if output in passing for route in routes
    )


def hold_sender(ctx: Context, keeper: AgreementKeeper, audit: types_pb2.Audit) -> payouts.Send:
    def send(recipient: bytes, amount: int) -> None:
        if amount > 0:
            keeper.bank.send_coins_from_module(
                ctx, keys.AUDIT_HOLD_ACCOUNT, recipient, [Coin(audit.denom, amount)]
            )

    return send


def _release(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    audit: types_pb2.Audit,
    reason: str,
    culprit_routes: frozenset[int] = frozenset(),
    passing: frozenset[bytes] = frozenset(),
) -> None:
    """Make the payouts recorded on the audit, out of the hold, and the reputation changes
    finalization held back; hops that revealed another output the verdict also passed
    (``passing``: honest near-tie divergence) take no mismatch penalty."""
    settlement = keeper.get_settlement(ctx, audit.job_id)
    assert settlement is not None  # the tally that opened the audit stored it
    send = hold_sender(ctx, keeper, audit)
    payouts.pay_out(ctx, audit.job_id, list(audit.payouts), settlement, send)
    winning = sorted({p.route_index for p in audit.payouts if p.layers})
    accepted = passing | {audit.output_hash}
    reserve = int(audit.reserve_amount or "0")
    extra, extra_routes = _pay_passing_minority(
        ctx, keeper, job, audit, passing, reserve, settlement, send
    )
    if extra:
        settlement.charge = str(int(settlement.charge) + extra)
        settlement.protocol_amount = str(
            sum(int(p.amount) for p in settlement.payouts if not p.layers and not p.verifier)
        )
    winning = sorted(set(winning) | set(extra_routes))
    reputations.adjust_reputations(ctx, keeper, job, accepted, winning, settlement, culprit_routes)
    keeper.set_settlement(ctx, settlement)
    if reserve > extra:
        refund_to_submitter(ctx, keeper, job, audit, reserve - extra, None)
    audit.hold_status, audit.released_height = types_pb2.HOLD_STATUS_PAID, ctx.block.height
    ctx.events.emit(
        events.PAYOUT_RELEASED,
        attr("job_id", audit.job_id, index=True),
        attr("amount", payouts.compute_total(audit.payouts) + extra),
        attr("reason", reason),
    )


def _pay_passing_minority(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    audit: types_pb2.Audit,
    passing: frozenset[bytes],
    reserve: int,
    settlement: types_pb2.Settlement,
    send: payouts.Send,
) -> tuple[int, list[int]]:
    """Pay, out of the reserve, the complete routes whose other output the verdict also passed:
    per output (by hash), the price over its routes, split as any charge is; returns (amount
    paid, the routes paid)."""
    others = passing - {audit.output_hash}
    groups = logic.complete_routes_by_output(settlement.claims)
    paid, routes = 0, []
    for output_hash, group in sorted(groups.items()):
        if output_hash not in others:
            continue
        output = keeper.get_output(ctx, job.id, output_hash)
        assert output is not None  # every revealed hash has its output stored
        charge = min(reserve - paid, logic.compute_price(job, output.billable_tokens, len(group)))
        if charge <= 0:
            break
        planned = payouts.plan_payouts(ctx, keeper, job, group, charge)
        payouts.pay_out(ctx, job.id, planned, settlement, send)
        paid += charge
        routes.extend(group)
    return paid, routes


def _redeliver(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    audit: types_pb2.Audit,
    passing: frozenset[bytes],
    culprit_routes: frozenset[int],
    selected: bytes = b"",
) -> None:
    """Deliver the passing output the validators selected (logic.compute_delivered) among those
    complete routes claimed, pay the passing routes out of the hold (charge over those routes,
    capped by the hold) and refund the rest."""
    settlement = keeper.get_settlement(ctx, job.id)
    assert settlement is not None
    winning = _passing_routes(ctx, keeper, job.id, passing)
    groups = logic.complete_routes_by_output(settlement.claims)
    claimed = {h: len(r) for h, r in groups.items() if h in passing}
    delivered = logic.compute_delivered(claimed, selected)
    assert delivered is not None  # winning is not empty
    output = keeper.get_output(ctx, job.id, delivered)
    assert output is not None  # every revealed hash has its output stored
    held = int(audit.held_amount)
    charge = min(held, logic.compute_price(job, output.billable_tokens, len(winning)))
    planned = payouts.plan_payouts(ctx, keeper, job, winning, charge)
    payouts.pay_out(ctx, job.id, planned, settlement, hold_sender(ctx, keeper, audit))
    reputations.adjust_reputations(ctx, keeper, job, passing, winning, settlement, culprit_routes)
    settlement.winning_output_hash = delivered
    settlement.charge, settlement.protocol_amount = str(charge), planned[-1].amount
    keeper.set_settlement(ctx, settlement)
    audit.hold_status, audit.released_height = types_pb2.HOLD_STATUS_PAID, ctx.block.height
    ctx.events.emit(
        events.PAYOUT_RELEASED,
        attr("job_id", job.id, index=True),
        attr("amount", charge),
        attr("reason", "audit failed: passing route paid"),
    )
    job.output_hash = delivered
    refund_to_submitter(ctx, keeper, job, audit, held - charge, REDELIVER_REASON)


def _refund(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    audit: types_pb2.Audit,
    passing: frozenset[bytes],
    culprit_routes: frozenset[int],
) -> None:
    """Give the whole hold back to the submitter: in the end the job cost nothing."""
    settlement = keeper.get_settlement(ctx, job.id)
    assert settlement is not None
    reputations.adjust_reputations(ctx, keeper, job, passing, [], settlement, culprit_routes)
    settlement.charge, settlement.protocol_amount = "0", "0"
    keeper.set_settlement(ctx, settlement)
    refund_to_submitter(ctx, keeper, job, audit, int(audit.held_amount), REFUND_REASON)
    audit.hold_status, audit.released_height = types_pb2.HOLD_STATUS_REFUNDED, ctx.block.height


def refund_to_submitter(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    audit: types_pb2.Audit,
    amount: int,
    reason: str | None,
) -> None:
    """Send ``amount`` of the hold back to the job's submitter and record it on the job (with
    ``reason`` as the job's reason, unless None)."""
    hold_sender(ctx, keeper, audit)(crypto.from_bech32(job.submitter), amount)
    job.refunded = str(int(job.refunded or "0") + amount)
    if reason is not None:
        job.reason = reason
    keeper.inference.set_job(ctx, job)
    ctx.events.emit(
        events.PAYOUT_REFUNDED,
        attr("job_id", job.id, index=True),
        attr("submitter", job.submitter, index=True),
        attr("amount", amount),
    )
