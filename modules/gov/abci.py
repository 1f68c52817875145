"""gov block hooks: the upgrade gate before every block, closing ended periods after it.

Bounded work per block: at most ``max_ends_per_block`` proposals are closed (deposit periods
first, then voting periods, earliest end first) and their tallies read at most
``max_tally_votes_per_block`` votes together (the first one always closes); the rest wait in
their queue for the next block (they are already closed to deposits and votes: block time >=
end). Closing one costs one tally (reads of <= max_validators bonded validators, its <=
max_votes_per_proposal votes and <= TALLY_DELEGATIONS_PER_VOTER delegations of each voter), the
execution of <= max_messages messages, and <= max_depositors refunds or one burn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import chain.pb  # noqa: F401

import structlog

from chain.context import Context
from chain.errors import ChainError
from chain.events import attr
from chain.text import parse_uint
from chain.tx import Coin
from chain.upgrades import UpgradeNeeded
from infera.gov.v1 import types_pb2
from modules.gov import events, keys, logic
from modules.gov.keeper import GovKeeper
from modules.gov.msg_server import check_proposal_message
from modules.gov.params import TALLY_DELEGATIONS_PER_VOTER

log = structlog.get_logger(__name__)


# -- upgrades ----------------------------------------------------------------------------------


def process_upgrade_plan(ctx: Context, keeper: GovKeeper) -> None:
    """At the plan's height run this binary's handler once, or stop the node (UpgradeNeeded);
    before it, a binary that already has the handler stops too (SDK semantics)."""
    plan = keeper.get_plan(ctx)
    if plan is None:
        return
    handler = keeper.upgrades.get(plan.name)
    if plan.height > ctx.block.height:
        if handler is not None:
            raise UpgradeNeeded(
                f'BINARY UPDATED BEFORE TRIGGER! UPGRADE "{plan.name}" - in binary but not '
                f"executed on chain (height {plan.height}, now {ctx.block.height}). "
                "Downgrade your binary"
            )
        return
    if handler is None:
        raise UpgradeNeeded(f'UPGRADE "{plan.name}" NEEDED at height: {plan.height}: {plan.info}')
    handler(ctx)
    keeper.set_done(ctx, plan.name, ctx.block.height)
    keeper.delete_plan(ctx)
    log.info("upgrade applied", name=plan.name, height=ctx.block.height)
    ctx.events.emit(
        events.APPLY_UPGRADE, attr("name", plan.name, index=True), attr("height", plan.height)
    )


# -- ended periods -----------------------------------------------------------------------------


def process_ended_proposals(ctx: Context, keeper: GovKeeper) -> None:
    """Close ended deposit periods, then ended voting periods, at most max_ends_per_block."""
    params = keeper.get_params(ctx)
    budget = params.max_ends_per_block
    now = ctx.block.time_ns
    inactive = list(_take(keeper.iterate_ended(ctx, keys.INACTIVE_QUEUE, now), budget))
    for proposal_id in inactive:
        _guarded(ctx, keeper, params, proposal_id, keys.INACTIVE_QUEUE, _close_deposit_period)
    active = _take_tallies(ctx, keeper, params, budget - len(inactive))
    for proposal_id in active:
        _guarded(ctx, keeper, params, proposal_id, keys.ACTIVE_QUEUE, _close_voting_period)


def _take_tallies(
    ctx: Context, keeper: GovKeeper, params: types_pb2.Params, count: int
) -> list[int]:
    """Ended voting periods to close now: at most ``count``, earliest end first, whose votes
    sum to at most max_tally_votes_per_block (the first is taken whatever its votes: it holds
    at most max_votes_per_proposal <= max_tally_votes_per_block, or the cap in force when its
    votes were cast, <= params.MAX_TALLY_VOTES)."""
    out: list[int] = []
    votes = 0
    for proposal_id in keeper.iterate_ended(ctx, keys.ACTIVE_QUEUE, ctx.block.time_ns):
        if len(out) >= count:
            break
        proposal = keeper.get_proposal(ctx, proposal_id)
        cost = 0 if proposal is None else proposal.vote_count
        if out and votes + cost > params.max_tally_votes_per_block:
            break
        out.append(proposal_id)
        votes += cost
    return out


def _guarded(
    ctx: Context,
    keeper: GovKeeper,
    params: types_pb2.Params,
    proposal_id: int,
    queue: bytes,
    close: Callable[[Context, GovKeeper, types_pb2.Params, int], None],
) -> None:
    """Close one proposal on a branch. A bug that raises fails that proposal (its deposits stay
    in the gov account) instead of stopping FinalizeBlock on every node, block after block."""
    child, cache = ctx.branch()
    try:
        close(child, keeper, params, proposal_id)
    except Exception:
        log.exception("closing a proposal crashed; marked failed", proposal_id=proposal_id)
        _fail(ctx, keeper, proposal_id, queue)
        return
    cache.write()
    ctx.events.extend(child.events)


def _fail(ctx: Context, keeper: GovKeeper, proposal_id: int, queue: bytes) -> None:
    proposal = keeper.get_proposal(ctx, proposal_id)
    if proposal is None:
        return
    end = (
        proposal.deposit_end_time_ns
        if queue == keys.INACTIVE_QUEUE
        else proposal.voting_end_time_ns
    )
    keeper.remove_queue(ctx, queue, end, proposal_id)
    proposal.status, proposal.failed_reason = types_pb2.PROPOSAL_STATUS_FAILED, "internal error"
    keeper.set_proposal(ctx, proposal)


def _take(ids: Iterator[int], count: int) -> list[int]:
    out: list[int] = []
    for proposal_id in ids:
        if len(out) >= count:
            break
        out.append(proposal_id)
    return out


def _close_deposit_period(
    ctx: Context, keeper: GovKeeper, params: types_pb2.Params, proposal_id: int
) -> None:
    """min_deposit never reached: the proposal is deleted, its deposits burned or refunded."""
    proposal = keeper.get_proposal(ctx, proposal_id)
    if proposal is None:
        return
    keeper.remove_queue(ctx, keys.INACTIVE_QUEUE, proposal.deposit_end_time_ns, proposal_id)
    burn = params.burn_proposal_deposit_prevote
    _settle_deposits(ctx, keeper, proposal, burn=burn)
    ctx.store.delete(keys.proposal_key(proposal_id))
    ctx.events.emit(
        events.INACTIVE_PROPOSAL,
        attr("proposal_id", proposal_id, index=True),
        attr("proposal_result", "proposal_dropped"),
        attr("deposits", "burned" if burn else "refunded"),
    )


def _close_voting_period(
    ctx: Context, keeper: GovKeeper, params: types_pb2.Params, proposal_id: int
) -> None:
    """Tally; settle the deposits; run a passed proposal's messages all-or-nothing."""
    proposal = keeper.get_proposal(ctx, proposal_id)
    if proposal is None:
        return
    keeper.remove_queue(ctx, keys.ACTIVE_QUEUE, proposal.voting_end_time_ns, proposal_id)
    counts, bonded = compute_tally(ctx, keeper, proposal_id, delete_votes=True)
    passes, burn = logic.compute_outcome(counts, bonded, params)
    _settle_deposits(ctx, keeper, proposal, burn=burn)
    proposal.final_tally_result.CopyFrom(counts.to_result())
    result = "proposal_rejected"
    proposal.status = types_pb2.PROPOSAL_STATUS_REJECTED
    if passes:
        error = _execute(ctx, keeper, proposal)
        proposal.status = types_pb2.PROPOSAL_STATUS_PASSED
        result = "proposal_passed"
        if error:
            proposal.status, proposal.failed_reason = types_pb2.PROPOSAL_STATUS_FAILED, error
            result = "proposal_failed"
    keeper.set_proposal(ctx, proposal)
    log.info("proposal closed", proposal_id=proposal_id, result=result, height=ctx.block.height)
    ctx.events.emit(
        events.ACTIVE_PROPOSAL,
        attr("proposal_id", proposal_id, index=True),
        attr("proposal_result", result),
        attr("deposits", "burned" if burn else "refunded"),
        attr("log", proposal.failed_reason),
    )


def compute_tally(
    ctx: Context, keeper: GovKeeper, proposal_id: int, *, delete_votes: bool = False
) -> tuple[logic.TallyCounts, int]:
    """(counts, total bonded tokens) over the bonded validators and the proposal's votes."""
    validators: dict[bytes, logic.BondedValidator] = {}
    for operator, validator, _ in keeper.staking.iterate_bonded_validators(ctx):
        if validator.jailed:
            continue  # jailed in this block: power 0 from its end
        validators[operator] = logic.BondedValidator(
            tokens=parse_uint(validator.tokens or "0"),
            delegator_shares=parse_uint(validator.delegator_shares or "0"),
        )
    votes = []
    for voter, vote in list(keeper.iterate_votes(ctx, proposal_id)):
        votes.append((voter, logic.compute_options(vote.options)))
        if delete_votes:
            keeper.delete_vote(ctx, proposal_id, voter)
            keeper.delete_seat(ctx, proposal_id, parse_uint(vote.seat_stake or "0"), voter)

    def delegations_of(voter: bytes) -> list[tuple[bytes, int]]:
        return keeper.get_tally_delegations_of(ctx, voter, TALLY_DELEGATIONS_PER_VOTER)

    counts = logic.compute_tally(validators, votes, delegations_of)
    return counts, sum(v.tokens for v in validators.values())


def _settle_deposits(
    ctx: Context, keeper: GovKeeper, proposal: types_pb2.Proposal, *, burn: bool
) -> None:
    """Burn the total (one burn) or refund each depositor (address order); delete them."""
    total = int(proposal.total_deposit.amount or "0")
    denom = proposal.total_deposit.denom
    for depositor, deposit in list(keeper.iterate_deposits(ctx, proposal.id)):
        if not burn:
            coins = [Coin(denom, int(deposit.amount.amount))]
            keeper.bank.send_coins_from_module(ctx, keys.GOV_MODULE, depositor, coins)
        keeper.delete_deposit(ctx, proposal.id, depositor)
    if burn and total > 0:
        keeper.bank.burn_coins(ctx, keys.GOV_MODULE, [Coin(denom, total)])


def _execute(ctx: Context, keeper: GovKeeper, proposal: types_pb2.Proposal) -> str:
    """Run the messages on a branch as the gov account; keep it only if all succeed. Returns
    the failure ("" on success). Each message is re-checked as at submit (state may differ)."""
    child, cache = ctx.branch()
    try:
        for packed in proposal.messages:
            msg = check_proposal_message(child, keeper, packed)  # also: a router is set
            keeper.router.msg_route(packed.type_url).handler(child, msg)  # type: ignore[union-attr]
    except ChainError as err:
        return err.log
    except Exception:  # a bug in a handler fails the proposal, never the block
        log.exception("proposal message crashed", proposal_id=proposal.id)
        return "internal error"
    cache.write()
    ctx.events.extend(child.events)
    return ""
