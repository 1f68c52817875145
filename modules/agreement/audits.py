"""Audits of jobs finalized by agreement, and the payment each audit holds back.

Agreement alone cannot tell a colluding quorum from an honest one, so a job finalized by
agreement is drawn for audit when sha256("audit" || block hash || job id) falls below
``audit_probability`` (logic.is_audited; nobody knows the draw before the block). A drawn job's
charge is not paid at finalization: it moves from the job's escrow into the
``agreement_audit_hold`` module account, and the payouts finalization would have made are
recorded on the ``Audit``. The hold ends exactly once:
  - the validators' verdict passes the agreed output: the recorded payouts are made, unchanged;
  - the verdict fails it: the whole held amount goes back to the submitter (the settlement's
    charge becomes 0, the job's ``refunded`` grows by it) and the culprits are slashed
    (verdicts.py);
  - the audit window ends with no verdict (validators abstained or did not reach 2/3): the
    payouts are made as if the audit passed. Silence is no evidence against anyone, and the
    workers should not lose honest pay because validators run no verifier.
The refunded submitter keeps the job's (refuted) output hash on record with the audit marked
failed; the job stays FINALIZED.
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
from modules.agreement import events, keys, payouts

if TYPE_CHECKING:
    from modules.agreement.keeper import AgreementKeeper

REFUND_REASON = "audit failed: validators refuted the agreed output; charge refunded"


def hold_address() -> bytes:
    return crypto.module_address(keys.AUDIT_HOLD_ACCOUNT)


def open_audit(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    winner: bytes,
    planned: list[types_pb2.Payout],
) -> int:
    """Move the job's charge (the sum of ``planned``) from its escrow into the audit hold, record
    the audit and schedule the end of its window; returns the amount held. The caller stores
    the job."""
    params = keeper.get_params(ctx)
    denom = keeper.inference.get_params(ctx).fee_denom
    held = payouts.compute_total(planned)
    keeper.inference.pay_from_escrow(ctx, job, hold_address(), held, denom)
    deadline = ctx.block.height + params.audit_window_blocks
    audit = types_pb2.Audit(
        job_id=job.id,
        output_hash=winner,
        opened_height=ctx.block.height,
        deadline_height=deadline,
        held_amount=str(held),
        denom=denom,
        payouts=planned,
        hold_status=types_pb2.HOLD_STATUS_HELD,
    )
    keeper.set_audit(ctx, audit)
    keeper.schedule(ctx, job.id, deadline)  # close_audit_window at the end of that block
    ctx.events.emit(
        events.JOB_AUDITED,
        attr("job_id", job.id, index=True),
        attr("model_id", job.model_id, index=True),
        attr("deadline_height", deadline),
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
) -> None:
    """Apply the validators' verdict: pay the hold when the agreed output passed, else refund it."""
    audit.decided, audit.failed = True, audit.output_hash not in passing
    ctx.events.emit(
        events.AUDIT_DECIDED,
        attr("job_id", job.id, index=True),
        attr("failed", "true" if audit.failed else "false"),
    )
    if audit.hold_status == types_pb2.HOLD_STATUS_HELD:
        if audit.failed:
            _refund(ctx, keeper, job, audit)
        else:
            _release(ctx, keeper, audit, "audit passed")
    keeper.set_audit(ctx, audit)
    keeper.unschedule(ctx, job.id)


def close_audit_window(ctx: Context, keeper: AgreementKeeper, job_id: int) -> None:
    """The audit window of a finalized job ended: an undecided hold is paid as if it passed."""
    keeper.unschedule(ctx, job_id)
    audit = keeper.get_audit(ctx, job_id)
    if audit is None or audit.decided or audit.hold_status != types_pb2.HOLD_STATUS_HELD:
        return
    _release(ctx, keeper, audit, "audit window ended undecided")
    keeper.set_audit(ctx, audit)


def _release(ctx: Context, keeper: AgreementKeeper, audit: types_pb2.Audit, reason: str) -> None:
    """Make the payouts recorded on the audit, out of the hold."""
    settlement = keeper.get_settlement(ctx, audit.job_id)
    assert settlement is not None  # the tally that opened the audit stored it

    def send(recipient: bytes, amount: int) -> None:
        if amount > 0:
            keeper.bank.send_coins_from_module(
                ctx, keys.AUDIT_HOLD_ACCOUNT, recipient, [Coin(audit.denom, amount)]
            )

    payouts.pay_out(ctx, audit.job_id, list(audit.payouts), settlement, send)
    keeper.set_settlement(ctx, settlement)
    audit.hold_status, audit.released_height = types_pb2.HOLD_STATUS_PAID, ctx.block.height
    ctx.events.emit(
        events.PAYOUT_RELEASED,
        attr("job_id", audit.job_id, index=True),
        attr("amount", audit.held_amount),
        attr("reason", reason),
    )


def _refund(
    ctx: Context, keeper: AgreementKeeper, job: inference_pb2.Job, audit: types_pb2.Audit
) -> None:
    """Give the whole hold back to the submitter: in the end the job cost nothing."""
    amount = int(audit.held_amount)
    if amount > 0:
        keeper.bank.send_coins_from_module(
            ctx,
            keys.AUDIT_HOLD_ACCOUNT,
            crypto.from_bech32(job.submitter),
            [Coin(audit.denom, amount)],
        )
    job.refunded = str(int(job.refunded or "0") + amount)
    job.reason = REFUND_REASON
    keeper.inference.set_job(ctx, job)
    settlement = keeper.get_settlement(ctx, job.id)
    assert settlement is not None
    settlement.charge, settlement.protocol_amount = "0", "0"
    keeper.set_settlement(ctx, settlement)
    audit.hold_status, audit.released_height = types_pb2.HOLD_STATUS_REFUNDED, ctx.block.height
    ctx.events.emit(
        events.PAYOUT_REFUNDED,
        attr("job_id", job.id, index=True),
        attr("submitter", job.submitter, index=True),
        attr("amount", amount),
    )
