"""inference invariants: the escrow account holds exactly what the open jobs escrow."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.context import Context
from chain.text import is_uint
from modules.inference import logic
from modules.inference.keeper import InferenceKeeper


def check_escrow(ctx: Context, keeper: InferenceKeeper) -> str:
    """An empty string when the escrow balance equals the sum of the open jobs' escrow and every
    terminal job holds none; otherwise a description of the first problem found."""
    denom = keeper.get_params(ctx).fee_denom
    held = 0
    for job in keeper.iterate_jobs(ctx):
        if not is_uint(job.escrow or "0") or not is_uint(job.max_fee or "0"):
            return f"job {job.id} has a malformed escrow {job.escrow!r} or max fee"
        escrow = int(job.escrow or "0")
        if logic.is_terminal(job.state) and escrow:
            return f"terminal job {job.id} still escrows {escrow}"
        held += escrow
    balance = keeper.bank.get_balance(ctx, keeper.escrow_address(), denom)
    if balance != held:
        return f"escrow account holds {balance}{denom} but open jobs escrow {held}{denom}"
    return ""
