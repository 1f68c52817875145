"""gov messages. Proposal messages are checked at submit exactly as they will be executed: the
gov module account must be their only signer and each is validated by its owner (a module's
own params validation, the upgrade plan rules)."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message

from chain import crypto
from chain.context import Context
from chain.errors import ChainError
from chain.events import attr
from chain.fixed import Decimal
from chain.text import parse_uint
from chain.tx import Coin, parse_coins
from infera.base.v1 import coin_pb2
from infera.gov.v1 import tx_pb2, types_pb2
from modules.gov import events, keys, logic
from modules.gov.errors import (
    ErrInactiveProposal,
    ErrInvalidDepositDenom,
    ErrInvalidParams,
    ErrInvalidPlan,
    ErrInvalidProposal,
    ErrInvalidProposalContent,
    ErrInvalidSigner,
    ErrInvalidVote,
    ErrMetadataTooLong,
    ErrMinDepositTooSmall,
    ErrNoProposalMsgs,
    ErrNoUpgradePlan,
    ErrNoVotingPower,
    ErrTooManyDepositors,
    ErrUnknownParamsModule,
    ErrUnknownProposal,
    ErrVoteSeatsFull,
)
from modules.gov.keeper import ADDRESS, GovKeeper

# The messages a proposal may carry: gov's own, run by the gov module account. Nothing else
# (a MsgSend signed by the gov account would spend the deposits it holds in escrow).
PROPOSAL_MSG_TYPES = (
    "/infera.gov.v1.MsgUpdateParams",
    "/infera.gov.v1.MsgSoftwareUpgrade",
    "/infera.gov.v1.MsgCancelUpgrade",
)


def submit_proposal(
    ctx: Context, keeper: GovKeeper, msg: tx_pb2.MsgSubmitProposal
) -> tx_pb2.MsgSubmitProposalResponse:
    """Open a proposal in its deposit period and add the initial deposit (which may start the
    voting period at once).

    Fails when: the proposer is malformed; there are no messages or more than max_messages; a
    message is not one gov runs, does not decode, has a signer other than the gov account, or
    fails its own validation (unknown module, invalid params, invalid plan); title, summary or
    metadata are too long or not printable ASCII; the initial deposit is not in the min_deposit
    denom or below min_deposit x min_initial_deposit_ratio; the proposer cannot pay it.
    """
    # verify
    proposer = crypto.from_bech32(msg.proposer)
    params = keeper.get_params(ctx)
    if not msg.messages:
        raise ErrNoProposalMsgs()
    if len(msg.messages) > params.max_messages:
        raise ErrInvalidProposal(f"{len(msg.messages)} messages, limit {params.max_messages}")
    _check_texts(msg, params)
    for packed in msg.messages:
        check_proposal_message(ctx, keeper, packed)
    # check
    amount = _initial_deposit(msg, params)
    # mutate
    proposal_id = keeper.get_next_id(ctx)
    keeper.set_next_id(ctx, proposal_id + 1)
    now = ctx.block.time_ns
    proposal = types_pb2.Proposal(
        id=proposal_id,
        messages=list(msg.messages),
        status=types_pb2.PROPOSAL_STATUS_DEPOSIT_PERIOD,
        submit_time_ns=now,
        deposit_end_time_ns=now + params.max_deposit_period_s * 1_000_000_000,
        total_deposit=coin_pb2.Coin(denom=params.min_deposit.denom, amount="0"),
        metadata=msg.metadata,
        title=msg.title,
        summary=msg.summary,
        proposer=msg.proposer,
    )
    keeper.insert_queue(ctx, keys.INACTIVE_QUEUE, proposal.deposit_end_time_ns, proposal_id)
    # events
    ctx.events.emit(
        events.SUBMIT_PROPOSAL,
        attr("proposal_id", proposal_id, index=True),
        attr("proposal_messages", ",".join(m.type_url for m in msg.messages)),
        attr("proposer", msg.proposer),
    )
    if amount > 0:
        add_deposit(ctx, keeper, params, proposal, proposer, amount)
    else:
        keeper.set_proposal(ctx, proposal)
    # respond
    return tx_pb2.MsgSubmitProposalResponse(proposal_id=proposal_id)


def _check_texts(msg: tx_pb2.MsgSubmitProposal, params: types_pb2.Params) -> None:
    if not logic.is_valid_text(msg.metadata, params.max_metadata_len):
        raise ErrMetadataTooLong(f"limit {params.max_metadata_len} printable ASCII bytes")
    if not msg.title or not logic.is_valid_text(msg.title, logic.TITLE_MAX) or "\n" in msg.title:
        raise ErrInvalidProposal(f"title must be 1 to {logic.TITLE_MAX} printable ASCII chars")
    if not logic.is_valid_text(msg.summary, logic.SUMMARY_MAX):
        raise ErrInvalidProposal(f"summary: at most {logic.SUMMARY_MAX} printable ASCII bytes")


def _initial_deposit(msg: tx_pb2.MsgSubmitProposal, params: types_pb2.Params) -> int:
    amount = 0
    if msg.HasField("initial_deposit") and (
        msg.initial_deposit.amount or msg.initial_deposit.denom
    ):
        (coin,) = parse_coins([msg.initial_deposit])
        if coin.denom != params.min_deposit.denom:
            raise ErrInvalidDepositDenom(f"got {coin.denom}, expected {params.min_deposit.denom}")
        amount = coin.amount
    needed = logic.compute_min_deposit(params, params.min_initial_deposit_ratio)
    if amount < needed:
        raise ErrMinDepositTooSmall(f"initial deposit {amount} < {needed}")
    return amount


def check_proposal_message(ctx: Context, keeper: GovKeeper, packed: any_pb2.Any) -> Message:
    """Decode one proposal message and check it as its handler will (without running it)."""
    if packed.type_url not in PROPOSAL_MSG_TYPES or keeper.router is None:
        raise ErrInvalidProposalContent(f"gov does not run {packed.type_url!r}")
    route = keeper.router.msg_route(packed.type_url)
    msg = route.msg_class()
    try:
        msg.ParseFromString(packed.value)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ErrInvalidProposalContent(f"cannot decode {packed.type_url}: {exc}") from None
    for field in route.signer_fields:
        if crypto.from_bech32(getattr(msg, field)) != ADDRESS:
            raise ErrInvalidSigner(f"{field} = {getattr(msg, field)!r}")
    if isinstance(msg, tx_pb2.MsgUpdateParams):
        _decoded_params(ctx, keeper, msg)
    elif isinstance(msg, tx_pb2.MsgSoftwareUpgrade):
        _check_plan(ctx, keeper, msg.plan)
    return msg


def add_deposit(
    ctx: Context,
    keeper: GovKeeper,
    params: types_pb2.Params,
    proposal: types_pb2.Proposal,
    depositor: bytes,
    amount: int,
) -> None:
    """Escrow ``amount`` in the gov account; the voting period starts once min_deposit is met."""
    deposit = keeper.get_deposit(ctx, proposal.id, depositor)
    if deposit is None:
        if proposal.depositor_count >= params.max_depositors:
            raise ErrTooManyDepositors(f"limit {params.max_depositors}")
        proposal.depositor_count += 1
        deposit = types_pb2.Deposit(
            proposal_id=proposal.id,
            depositor=crypto.to_bech32(depositor),
            amount=coin_pb2.Coin(denom=params.min_deposit.denom, amount="0"),
        )
    denom = params.min_deposit.denom
    keeper.bank.send_coins_to_module(ctx, depositor, keys.GOV_MODULE, [Coin(denom, amount)])
    deposit.amount.amount = str(int(deposit.amount.amount) + amount)
    keeper.set_deposit(ctx, depositor, deposit)
    proposal.total_deposit.amount = str(int(proposal.total_deposit.amount) + amount)
    ctx.events.emit(
        events.PROPOSAL_DEPOSIT,
        attr("proposal_id", proposal.id, index=True),
        attr("depositor", deposit.depositor),
        attr("amount", f"{amount}{denom}"),
    )
    in_deposit = proposal.status == types_pb2.PROPOSAL_STATUS_DEPOSIT_PERIOD
    if in_deposit and int(proposal.total_deposit.amount) >= int(params.min_deposit.amount):
        _start_voting(ctx, keeper, params, proposal)
    keeper.set_proposal(ctx, proposal)


def _start_voting(
    ctx: Context, keeper: GovKeeper, params: types_pb2.Params, proposal: types_pb2.Proposal
) -> None:
    keeper.remove_queue(ctx, keys.INACTIVE_QUEUE, proposal.deposit_end_time_ns, proposal.id)
    proposal.status = types_pb2.PROPOSAL_STATUS_VOTING_PERIOD
    proposal.voting_start_time_ns = ctx.block.time_ns
    proposal.voting_end_time_ns = ctx.block.time_ns + params.voting_period_s * 1_000_000_000
    keeper.insert_queue(ctx, keys.ACTIVE_QUEUE, proposal.voting_end_time_ns, proposal.id)
    ctx.events.emit(events.VOTING_PERIOD_START, attr("proposal_id", proposal.id, index=True))


def deposit(ctx: Context, keeper: GovKeeper, msg: tx_pb2.MsgDeposit) -> tx_pb2.MsgDepositResponse:
    """Add to a proposal's deposit, in its deposit or voting period.

    Fails when: the depositor is malformed; the amount is not one positive coin of the
    min_deposit denom or is below min_deposit x min_deposit_ratio; the proposal does not exist;
    its deposit or voting period has ended (block time >= end); it already has max_depositors
    other depositors; the depositor cannot pay.
    """
    # verify
    depositor = crypto.from_bech32(msg.depositor)
    (coin,) = parse_coins([msg.amount])
    # load
    params = keeper.get_params(ctx)
    proposal = _open_proposal(ctx, keeper, msg.proposal_id)
    # check
    if coin.denom != params.min_deposit.denom:
        raise ErrInvalidDepositDenom(f"got {coin.denom}, expected {params.min_deposit.denom}")
    needed = logic.compute_min_deposit(params, params.min_deposit_ratio)
    if coin.amount < needed:
        raise ErrMinDepositTooSmall(f"deposit {coin.amount} < {needed}")
    # mutate, events
    add_deposit(ctx, keeper, params, proposal, depositor, coin.amount)
    # respond
    return tx_pb2.MsgDepositResponse()


def _open_proposal(ctx: Context, keeper: GovKeeper, proposal_id: int) -> types_pb2.Proposal:
    """A proposal still in its deposit or voting period at this block's time."""
    proposal = keeper.get_proposal(ctx, proposal_id)
    if proposal is None:
        raise ErrUnknownProposal(str(proposal_id))
    now = ctx.block.time_ns
    status = proposal.status
    if status == types_pb2.PROPOSAL_STATUS_DEPOSIT_PERIOD and now < proposal.deposit_end_time_ns:
        return proposal
    if status == types_pb2.PROPOSAL_STATUS_VOTING_PERIOD and now < proposal.voting_end_time_ns:
        return proposal
    raise ErrInactiveProposal(str(proposal_id))


def vote(ctx: Context, keeper: GovKeeper, msg: tx_pb2.MsgVote) -> tx_pb2.MsgVoteResponse:
    """Cast or replace a vote with one option (weight 1); see ``vote_weighted``."""
    option = types_pb2.WeightedVoteOption(option=msg.option, weight="1")
    weighted = tx_pb2.MsgVoteWeighted(
        proposal_id=msg.proposal_id, voter=msg.voter, options=[option], metadata=msg.metadata
    )
    vote_weighted(ctx, keeper, weighted)
    return tx_pb2.MsgVoteResponse()


def vote_weighted(
    ctx: Context, keeper: GovKeeper, msg: tx_pb2.MsgVoteWeighted
) -> tx_pb2.MsgVoteWeightedResponse:
    """Cast or replace a vote; the last vote before the period ends is the one tallied.

    Fails when: the voter is malformed; the options are not 1 to 4 distinct known options with
    weights in (0, 1] summing to 1; the metadata is too long; the proposal does not exist or is
    not in its voting period (block time >= voting end); the voter has no voting power (is
    neither a delegator nor a validator); the proposal's max_votes_per_proposal seats are full
    and none holds less stake than the voter (a new voter with more takes the smallest seat).
    """
    # verify
    voter = crypto.from_bech32(msg.voter)
    try:
        options = logic.compute_options(msg.options)
    except ValueError as exc:
        raise ErrInvalidVote(str(exc)) from None
    # load
    params = keeper.get_params(ctx)
    proposal = _open_proposal(ctx, keeper, msg.proposal_id)
    # check
    if proposal.status != types_pb2.PROPOSAL_STATUS_VOTING_PERIOD:
        raise ErrInactiveProposal(f"{msg.proposal_id} is not in its voting period")
    if not logic.is_valid_text(msg.metadata, params.max_metadata_len):
        raise ErrMetadataTooLong(f"limit {params.max_metadata_len} printable ASCII bytes")
    stake = _seat_stake(ctx, keeper, voter)
    if stake is None:
        raise ErrNoVotingPower(msg.voter)
    # mutate
    _take_seat(ctx, keeper, params, proposal, voter, stake)
    weighted = [types_pb2.WeightedVoteOption(option=o, weight=str(_decimal(w))) for o, w in options]
    record = types_pb2.Vote(
        proposal_id=msg.proposal_id,
        voter=msg.voter,
        options=weighted,
        metadata=msg.metadata,
        seat_stake=str(stake),
    )
    keeper.set_vote(ctx, voter, record)
    # events
    ctx.events.emit(
        events.PROPOSAL_VOTE,
        attr("proposal_id", msg.proposal_id, index=True),
        attr("voter", msg.voter, index=True),
        attr("option", ",".join(f"{o}:{_decimal(w)}" for o, w in options)),
    )
    # respond
    return tx_pb2.MsgVoteWeightedResponse()


def _decimal(raw: int) -> str:
    return str(Decimal(raw))


def _seat_stake(ctx: Context, keeper: GovKeeper, voter: bytes) -> int | None:
    """The voter's stake now: the larger of its delegations' tokens and, for a validator, its
    tokens (the power its vote decides for delegators who do not vote). None when the voter is
    neither a delegator (operators have their self-delegation) nor a validator: its vote would
    count 0 (README "Bounds"). Reads every delegation of the voter, paid by this vote's gas."""
    delegations = keeper.get_delegations_of(ctx, voter)
    own = keeper.staking.get_validator(ctx, voter)
    if not delegations and own is None:
        return None
    delegated = 0
    for operator, shares in delegations:
        validator = keeper.staking.get_validator(ctx, operator)
        if validator is not None:
            delegated += logic.compute_tokens_of_shares(
                shares,
                parse_uint(validator.tokens or "0"),
                parse_uint(validator.delegator_shares or "0"),
            )
    return max(delegated, 0 if own is None else parse_uint(own.tokens or "0"))


def _take_seat(
    ctx: Context,
    keeper: GovKeeper,
    params: types_pb2.Params,
    proposal: types_pb2.Proposal,
    voter: bytes,
    stake: int,
) -> None:
    """Give the voter a seat ranked by ``stake``: its own again when it votes again; a free
    one while fewer than max_votes_per_proposal are taken; else the smallest seat if it holds
    less stake (that vote is deleted: its voter inherits its validator's vote, as if it had
    not voted). ErrVoteSeatsFull otherwise. The tally then reads at most the seats' votes."""
    previous = keeper.get_vote(ctx, proposal.id, voter)
    if previous is not None:
        keeper.delete_seat(ctx, proposal.id, parse_uint(previous.seat_stake or "0"), voter)
    elif proposal.vote_count >= params.max_votes_per_proposal:
        lowest = next(keeper.iterate_seats(ctx, proposal.id), None)
        if lowest is None or lowest[0] >= min(stake, keys.SEAT_STAKE_MAX):
            raise ErrVoteSeatsFull(f"all {proposal.vote_count} seats hold at least {stake} tokens")
        _evict(ctx, keeper, proposal, lowest[1], lowest[0])
    else:
        proposal.vote_count += 1
        keeper.set_proposal(ctx, proposal)
    keeper.set_seat(ctx, proposal.id, stake, voter)


def _evict(
    ctx: Context, keeper: GovKeeper, proposal: types_pb2.Proposal, voter: bytes, stake: int
) -> None:
    keeper.delete_seat(ctx, proposal.id, stake, voter)
    keeper.delete_vote(ctx, proposal.id, voter)
    ctx.events.emit(
        events.VOTE_EVICTED,
        attr("proposal_id", proposal.id, index=True),
        attr("voter", crypto.to_bech32(voter), index=True),
        attr("seat_stake", stake),
    )


def _check_authority(keeper: GovKeeper, authority: str) -> None:
    if crypto.from_bech32(authority) != ADDRESS:
        raise ErrInvalidSigner(f"invalid authority; expected {keeper.authority}, got {authority}")


def _decoded_params(
    ctx: Context, keeper: GovKeeper, msg: tx_pb2.MsgUpdateParams
) -> tuple[Any, Any]:
    """(target, params): the module's params decoded from the Any and validated by the module."""
    target = keeper.params_targets.get(msg.module)
    if target is None:
        raise ErrUnknownParamsModule(repr(msg.module))
    if msg.params.type_url != target.type_url:
        raise ErrInvalidParams(f"{msg.params.type_url!r} is not {target.type_url}")
    params = target.params_class()
    try:
        params.ParseFromString(msg.params.value)
        target.validate(ctx, params)
    except (DecodeError, RuntimeError, ValueError, ChainError) as exc:
        raise ErrInvalidParams(f"{msg.module}: {exc}") from None
    return target, params


def update_params(
    ctx: Context, keeper: GovKeeper, msg: tx_pb2.MsgUpdateParams
) -> tx_pb2.MsgUpdateParamsResponse:
    """Replace one module's params (takes effect from the next block's reads on).

    Fails when: the authority is not the gov module account (only a passed proposal can sign as
    it); no module of that name registered its params; the Any is not that module's Params type,
    does not decode, or the module's validation refuses it.
    """
    # verify
    _check_authority(keeper, msg.authority)
    target, params = _decoded_params(ctx, keeper, msg)
    # mutate
    target.set(ctx, params)
    # events
    ctx.events.emit(events.UPDATE_PARAMS, attr("module", msg.module, index=True))
    return tx_pb2.MsgUpdateParamsResponse()


def _check_plan(ctx: Context, keeper: GovKeeper, plan: types_pb2.Plan) -> None:
    if not logic.is_valid_plan_name(plan.name):
        raise ErrInvalidPlan(f"name {plan.name!r}: 1-64 of A-Z a-z 0-9 . _ -")
    if plan.height <= ctx.block.height:
        raise ErrInvalidPlan(f"height {plan.height} is not after {ctx.block.height}")
    if keeper.get_done_height(ctx, plan.name):
        raise ErrInvalidPlan(f"upgrade {plan.name!r} already ran")
    if not logic.is_valid_text(plan.info, logic.PLAN_INFO_MAX):
        raise ErrInvalidPlan(f"info: at most {logic.PLAN_INFO_MAX} printable ASCII bytes")


def software_upgrade(
    ctx: Context, keeper: GovKeeper, msg: tx_pb2.MsgSoftwareUpgrade
) -> tx_pb2.MsgSoftwareUpgradeResponse:
    """Schedule ``plan`` (replacing any scheduled plan, as the SDK does).

    Fails when: the authority is not the gov module account; the name is not 1-64 of
    [A-Za-z0-9._-] (starting alphanumeric); the height is not after this block; an upgrade of
    that name already ran; info is too long or not printable ASCII.
    """
    # verify
    _check_authority(keeper, msg.authority)
    # check
    _check_plan(ctx, keeper, msg.plan)
    # mutate
    keeper.set_plan(ctx, msg.plan)
    # events
    ctx.events.emit(
        events.SCHEDULE_UPGRADE,
        attr("name", msg.plan.name, index=True),
        attr("height", msg.plan.height),
    )
    return tx_pb2.MsgSoftwareUpgradeResponse()


def cancel_upgrade(
    ctx: Context, keeper: GovKeeper, msg: tx_pb2.MsgCancelUpgrade
) -> tx_pb2.MsgCancelUpgradeResponse:
    """Drop the scheduled plan. Fails when: the authority is not the gov account; no plan."""
    # verify
    _check_authority(keeper, msg.authority)
    # load, check
    plan = keeper.get_plan(ctx)
    if plan is None:
        raise ErrNoUpgradePlan()
    # mutate
    keeper.delete_plan(ctx)
    # events
    ctx.events.emit(events.CANCEL_UPGRADE, attr("name", plan.name, index=True))
    return tx_pb2.MsgCancelUpgradeResponse()
