"""A finalized job's payouts: planned once from the charge, then made from wherever the money
sits (the job's escrow at finalization, or the audit hold when the job was drawn for audit)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import chain.pb  # noqa: F401

from chain import crypto
from chain.ante import FEE_COLLECTOR
from chain.context import Context
from chain.events import attr
from infera.agreement.v1 import types_pb2
from infera.inference.v1 import types_pb2 as inference_pb2
from modules.agreement import events, logic

if TYPE_CHECKING:
    from modules.agreement.keeper import AgreementKeeper

# Moves ``amount`` (fee denom) to ``recipient`` (raw address) out of wherever the payment sits.
Send = Callable[[bytes, int], None]


def plan_payouts(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    winning: Sequence[int],
    charge: int,
) -> list[types_pb2.Payout]:
    """The transfers that pay ``charge``: each winning hop by layers served (logic.compute_payouts),
    then the fee collector (protocol share plus rounding dust). They sum to ``charge``."""
    share = keeper.get_params(ctx).protocol_share
    protocol_amount, pays = logic.compute_payouts(job, winning, charge, share)
    planned = [
        types_pb2.Payout(
            recipient=pay.worker,
            amount=str(pay.amount),
            route_index=pay.route_index,
            hop_index=pay.hop_index,
            layers=pay.layers,
        )
        for pay in pays
    ]
    collector = crypto.to_bech32(crypto.module_address(FEE_COLLECTOR))
    planned.append(types_pb2.Payout(recipient=collector, amount=str(protocol_amount)))
    return planned


def pay_out(
    ctx: Context,
    job_id: int,
    payouts: Sequence[types_pb2.Payout],
    settlement: types_pb2.Settlement,
    send: Send,
) -> None:
    """Make every transfer in ``payouts`` with ``send`` and record it in ``settlement``; each hop
    paid emits ``infera.worker_paid`` (the fee collector's entry serves no layers)."""
    for payout in payouts:
        send(crypto.from_bech32(payout.recipient), int(payout.amount))
        settlement.payouts.append(payout)
        if payout.layers:
            ctx.events.emit(
                events.WORKER_PAID,
                attr("job_id", job_id, index=True),
                attr("worker", payout.recipient, index=True),
                attr("amount", payout.amount),
                attr("layers", payout.layers),
            )


def compute_total(payouts: Sequence[types_pb2.Payout]) -> int:
    return sum(int(p.amount) for p in payouts)
