"""Open verifications: every dispute and audit gets the validators' verdict in bounded time.

A verification opens when a tally disputes a job or finalizes it under audit. It is indexed in
state (keys.VERIFICATION, with a queue and a slot index), so ExtendVote and the end-block read
only what is open. Validators are asked about at most ``verification_slots`` jobs at once (one
vote extension holds 64 verdicts); the others wait in a fair queue ordered by
(turn, fee, queued height, job id), where turn is how many verifications of the same submitter
were already open: every submitter's n-th open verification is served before anyone's
(n+1)-th, so one party opening many disputes delays only its own (decoys cannot starve other
jobs); within a turn the larger verification fee goes first, then the older.

A verification that gets a slot has ``audit_window_blocks`` (the verdict window) for a decided
verdict. A window that ends undecided is extended, up to ``verdict_max_windows`` windows; after
the last one the verification is closed **undecided: the submitter is refunded and nobody is
paid** (no worker, no validator; nobody slashed). Undecided never means paid: paying would turn
validators' silence (or a > 1/3 coalition abstaining) into payment for unverified, possibly
wrong work, while the refund costs the honest workers of that one job their pay and nothing
else. A dispute's job deadline is moved past its verdict window, so the job's deadline can never
cut a verification short (the short-deadline attack: a submitter's own worker disputing in the
last reveal block no longer gets the job refunded before validators can vote).

Each verification carries a fee for the validators (``verification_share`` of the job's max
fee, from its escrow): paid, by voting power, only to the validators whose verdict matched the
decided outcome; the shares of silent or dissenting validators go back to the submitter (the
verifier's dilemma: skipping the check, or voting against the outcome, earns nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from chain.fixed import Decimal
from chain.vote_extensions import ExtendedVote
from infera.agreement.v1 import types_pb2
from infera.inference.v1 import types_pb2 as inference_pb2
from modules.agreement import events, payouts

if TYPE_CHECKING:
    from modules.agreement.keeper import AgreementKeeper

DISPUTE = types_pb2.VERIFICATION_KIND_DISPUTE
AUDIT = types_pb2.VERIFICATION_KIND_AUDIT
UNDECIDED_DISPUTE_REASON = "no verdict in the verdict windows: refunded, nobody paid"
UNDECIDED_AUDIT_REASON = "audit undecided in the verdict windows: charge refunded, nobody paid"


def compute_fee(params: types_pb2.Params, max_fee: int, available: int) -> int:
    """floor(max fee x verification_share), capped by what the job still has to give."""
    return min(available, Decimal.parse(params.verification_share).mul_int_floor(max_fee))


def open_verification(
    ctx: Context, keeper: AgreementKeeper, job: inference_pb2.Job, kind: int, fee: int
) -> None:
    """Queue a verification for ``job`` (stored by the caller) and fill any free slot."""
    submitter = crypto.from_bech32(job.submitter)
    turn = keeper.get_open_count(ctx, submitter)
    keeper.set_open_count(ctx, submitter, turn + 1)
    verification = types_pb2.Verification(
        job_id=job.id,
        kind=kind,
        submitter=job.submitter,
        turn=turn,
        queued_height=ctx.block.height,
        fee=str(fee),
    )
    keeper.set_verification(ctx, verification)
    fill_slots(ctx, keeper)


def fill_slots(ctx: Context, keeper: AgreementKeeper) -> None:
    """Give free slots to the head of the queue; each starts its first verdict window."""
    params = keeper.get_params(ctx)
    active = len(keeper.active_verification_ids(ctx, params.verification_slots))
    free = params.verification_slots - active
    if free <= 0:
        return
    for job_id in keeper.queued_verification_ids(ctx, free):
        verification = keeper.get_verification(ctx, job_id)
        assert verification is not None  # the queue only names stored verifications
        verification.activated_height = ctx.block.height
        _start_window(ctx, keeper, verification, params)


def _start_window(
    ctx: Context,
    keeper: AgreementKeeper,
    verification: types_pb2.Verification,
    params: types_pb2.Params,
) -> None:
    """Open the next verdict window: due at its last block, the job's deadline after it."""
    verification.windows += 1
    end = ctx.block.height + params.audit_window_blocks
    verification.window_end_height = end
    keeper.set_verification(ctx, verification)
    keeper.schedule(ctx, verification.job_id, end)
    if verification.kind == AUDIT:
        audit = keeper.get_audit(ctx, verification.job_id)
        assert audit is not None  # an audit verification is opened with its audit
        audit.deadline_height = end
        keeper.set_audit(ctx, audit)
    else:
        keep_deadline_after(ctx, keeper, verification.job_id, end + 1)


def keep_deadline_after(ctx: Context, keeper: AgreementKeeper, job_id: int, height: int) -> None:
    """Move an open job's deadline to ``height`` when it is earlier (the deadline index moves
    with it): a dispute under verification outlives its verdict window."""
    job = keeper.inference.get_job(ctx, job_id)
    if job is not None and job.deadline_height < height:
        job.deadline_height = height
        keeper.inference.set_job(ctx, job)


def keep_open(ctx: Context, keeper: AgreementKeeper, job_id: int) -> bool:
    """A disputed job reached its deadline: when its verification is still open, move the
    deadline past the verdict window (or, while queued, one window on); returns whether the
    job stays open."""
    verification = keeper.get_verification(ctx, job_id)
    if verification is None:
        return False
    window = keeper.get_params(ctx).audit_window_blocks
    end = verification.window_end_height or ctx.block.height + window
    keep_deadline_after(ctx, keeper, job_id, max(end, ctx.block.height) + 1)
    return True


def is_open_for_verdicts(ctx: Context, keeper: AgreementKeeper, job_id: int) -> bool:
    """The job's verification holds a slot (validators are asked about it now)."""
    verification = keeper.get_verification(ctx, job_id)
    return verification is not None and verification.activated_height > 0


def close_window(ctx: Context, keeper: AgreementKeeper, job_id: int) -> None:
    """A verdict window ended undecided: extend it, or after the last one close the
    verification, refunding the submitter and paying nobody."""
    keeper.unschedule(ctx, job_id)
    verification = keeper.get_verification(ctx, job_id)
    if verification is None:
        return
    params = keeper.get_params(ctx)
    if verification.windows < params.verdict_max_windows:
        _start_window(ctx, keeper, verification, params)
        return
    job = keeper.inference.get_job(ctx, job_id)
    assert job is not None  # a verification is opened on a stored job
    if verification.kind == DISPUTE:
        if job.state == inference_pb2.JOB_STATE_DISPUTED:
            keeper.inference.expire_job(ctx, job, UNDECIDED_DISPUTE_REASON)
    else:
        _refund_undecided_audit(ctx, keeper, job)
    ctx.events.emit(
        events.VERIFICATION_UNDECIDED,
        attr("job_id", job_id, index=True),
        attr("windows", verification.windows),
    )
    close(ctx, keeper, job_id)


def _refund_undecided_audit(ctx: Context, keeper: AgreementKeeper, job: inference_pb2.Job) -> None:
    """Give an undecided audit's whole hold back: the job cost the submitter nothing."""
    from modules.agreement import audits  # audits uses this module to open its verification

    audit = keeper.get_audit(ctx, job.id)
    settlement = keeper.get_settlement(ctx, job.id)
    assert audit is not None and settlement is not None
    if audit.hold_status != types_pb2.HOLD_STATUS_HELD:
        return
    settlement.charge, settlement.protocol_amount = "0", "0"
    keeper.set_settlement(ctx, settlement)
    audits.refund_to_submitter(
        ctx, keeper, job, audit, int(audit.held_amount), UNDECIDED_AUDIT_REASON
    )
    audit.hold_status, audit.released_height = types_pb2.HOLD_STATUS_REFUNDED, ctx.block.height
    keeper.set_audit(ctx, audit)


def close(ctx: Context, keeper: AgreementKeeper, job_id: int) -> None:
    """Remove a decided (or given up) verification and hand its slot to the queue."""
    verification = keeper.get_verification(ctx, job_id)
    if verification is None:
        return
    submitter = crypto.from_bech32(verification.submitter)
    keeper.set_open_count(ctx, submitter, max(0, keeper.get_open_count(ctx, submitter) - 1))
    keeper.delete_verification(ctx, job_id)
    keeper.unschedule(ctx, job_id)
    fill_slots(ctx, keeper)


def is_still_open(
    ctx: Context, keeper: AgreementKeeper, verification: types_pb2.Verification
) -> bool:
    """Whether the money a verification decides is still where it opened: the dispute's job
    still DISPUTED (its escrow intact), or the audit's payment still HELD. Anything else (a
    job closed by a fault barrier, say) has nothing left for a verdict to move."""
    if verification.kind == DISPUTE:
        job = keeper.inference.get_job(ctx, verification.job_id)
        return job is not None and job.state == inference_pb2.JOB_STATE_DISPUTED
    audit = keeper.get_audit(ctx, verification.job_id)
    return audit is not None and audit.hold_status == types_pb2.HOLD_STATUS_HELD


def pay_verifiers(
    ctx: Context,
    keeper: AgreementKeeper,
    verification: types_pb2.Verification,
    agreeing: Sequence[ExtendedVote],
    total_power: int,
    send: payouts.Send,
) -> list[types_pb2.Payout]:
    """Pay each validator whose verdict matched the decided outcome floor(fee x power / total
    power) to its operator account; returns the payouts made (the rest stays with the caller,
    who refunds it)."""
    fee = int(verification.fee or "0")
    made = []
    for vote in sorted(agreeing, key=lambda v: v.validator_address):
        operator = keeper.staking.get_operator_by_consensus(ctx, vote.validator_address)
        amount = fee * vote.power // total_power if total_power > 0 else 0
        if operator is None or amount <= 0:
            continue
        send(operator, amount)
        made.append(
            types_pb2.Payout(
                recipient=crypto.to_bech32(operator), amount=str(amount), verifier=True
            )
        )
        ctx.events.emit(
            events.VERIFIER_PAID,
            attr("job_id", verification.job_id, index=True),
            attr("validator", vote.validator_address.hex(), index=True),
            attr("amount", amount),
        )
    return made
