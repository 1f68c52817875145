"""gov invariants: the gov account holds exactly the recorded deposits, each proposal's total is
the sum of its deposits, and open proposals sit in exactly the queue of their period."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.store import prefix_end
from chain.text import parse_uint
from infera.gov.v1 import types_pb2
from modules.gov import keys
from modules.gov.keeper import GovKeeper


def check_invariants(ctx: Context, keeper: GovKeeper) -> list[str]:
    """Descriptions of every broken invariant (empty when all hold). Reads every record: for
    tests and audits, not for block execution."""
    denom = keeper.get_params(ctx).min_deposit.denom
    broken: list[str] = []
    held_total = 0
    queued = {
        queue: {
            int.from_bytes(k[-8:], "big"): k for k, _ in ctx.store.iterate(queue, prefix_end(queue))
        }
        for queue in (keys.INACTIVE_QUEUE, keys.ACTIVE_QUEUE)
    }
    for proposal in keeper.iterate_proposals(ctx):
        deposits = [int(d.amount.amount) for _, d in keeper.iterate_deposits(ctx, proposal.id)]
        held_total += sum(deposits)
        if proposal.status in _OPEN:
            if sum(deposits) != int(proposal.total_deposit.amount or "0"):
                broken.append(f"proposal {proposal.id}: total_deposit differs from its deposits")
            if len(deposits) != proposal.depositor_count:
                broken.append(f"proposal {proposal.id}: depositor_count differs")
            broken += _seat_errors(ctx, keeper, proposal)
        elif (
            deposits
            or any(True for _ in keeper.iterate_votes(ctx, proposal.id))
            or any(True for _ in keeper.iterate_seats(ctx, proposal.id))
        ):
            broken.append(f"proposal {proposal.id}: closed but keeps deposits, votes or seats")
        broken += _queue_errors(proposal, queued)
    for queue, ids in queued.items():
        for proposal_id in ids:
            if keeper.get_proposal(ctx, proposal_id) is None:
                broken.append(f"queue {queue!r} holds missing proposal {proposal_id}")
    held = keeper.bank.get_balance(ctx, crypto.module_address(keys.GOV_MODULE), denom)
    if held != held_total:
        broken.append(f"gov account holds {held}{denom}, deposits total {held_total}{denom}")
    return broken


_OPEN = (types_pb2.PROPOSAL_STATUS_DEPOSIT_PERIOD, types_pb2.PROPOSAL_STATUS_VOTING_PERIOD)


def _seat_errors(ctx: Context, keeper: GovKeeper, proposal: types_pb2.Proposal) -> list[str]:
    """vote_count votes, each with exactly the seat of its recorded stake."""
    votes = {
        voter: min(parse_uint(vote.seat_stake or "0"), keys.SEAT_STAKE_MAX)
        for voter, vote in keeper.iterate_votes(ctx, proposal.id)
    }
    seats = {voter: stake for stake, voter in keeper.iterate_seats(ctx, proposal.id)}
    errors = []
    if len(votes) != proposal.vote_count:
        errors.append(f"proposal {proposal.id}: vote_count differs from its votes")
    if seats != votes:
        errors.append(f"proposal {proposal.id}: seats differ from its votes")
    return errors


def _queue_errors(proposal: types_pb2.Proposal, queued: dict[bytes, dict[int, bytes]]) -> list[str]:
    expected: dict[bytes, int | None] = {keys.INACTIVE_QUEUE: None, keys.ACTIVE_QUEUE: None}
    if proposal.status == types_pb2.PROPOSAL_STATUS_DEPOSIT_PERIOD:
        expected[keys.INACTIVE_QUEUE] = proposal.deposit_end_time_ns
    elif proposal.status == types_pb2.PROPOSAL_STATUS_VOTING_PERIOD:
        expected[keys.ACTIVE_QUEUE] = proposal.voting_end_time_ns
    errors = []
    for queue, end in expected.items():
        key = queued[queue].get(proposal.id)
        want = None if end is None else keys.queue_key(queue, end, proposal.id)
        if key != want:
            errors.append(f"proposal {proposal.id}: wrong entry in queue {queue!r}")
    return errors
