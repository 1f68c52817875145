"""agreement invariants: the audit hold account holds exactly the payments audits hold back."""

from __future__ import annotations

from collections import defaultdict

import chain.pb  # noqa: F401

from chain.context import Context
from chain.text import is_uint
from infera.agreement.v1 import types_pb2
from modules.agreement import audits, payouts
from modules.agreement.keeper import AgreementKeeper


def check_audit_hold(ctx: Context, keeper: AgreementKeeper) -> str:
    """An empty string when the ``agreement_audit_hold`` balance equals the sum of the held
    amounts of audits still HELD (per denom, the fee denom always checked), every held amount
    equals its recorded payouts plus its reserve and verification fee, every hold has an open
    verification and is due at the end of its verdict window (none while it waits for a slot:
    deadline_height 0); otherwise a description of the first problem."""
    held: dict[str, int] = defaultdict(int)
    held[keeper.inference.get_params(ctx).fee_denom] += 0
    for audit in keeper.iterate_audits(ctx):
        if audit.hold_status != types_pb2.HOLD_STATUS_HELD:
            continue
        reserve = audit.reserve_amount or "0"
        if not is_uint(reserve):
            return f"audit of job {audit.job_id} has a malformed reserve {reserve!r}"
        fee = audit.verification_fee or "0"
        if not is_uint(fee):
            return f"audit of job {audit.job_id} has a malformed verification fee {fee!r}"
        listed = payouts.compute_total(audit.payouts) + int(reserve) + int(fee)
        if listed != int(audit.held_amount):
            return f"audit of job {audit.job_id} holds {audit.held_amount} but lists other payouts"
        if keeper.get_verification(ctx, audit.job_id) is None:
            return f"audit of job {audit.job_id} holds a payment but has no open verification"
        if keeper.get_scheduled_height(ctx, audit.job_id) != (audit.deadline_height or None):
            return f"audit of job {audit.job_id} holds a payment but its window's end is not due"
        held[audit.denom] += int(audit.held_amount)
    for denom in sorted(held):
        balance = keeper.bank.get_balance(ctx, audits.hold_address(), denom)
        if balance != held[denom]:
            return f"audit hold account holds {balance}{denom} but audits hold {held[denom]}{denom}"
    return ""
