"""gov genesis: params, the next proposal id, open proposals with their deposits and votes, the
scheduled upgrade plan and the upgrades already applied."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain import crypto
from chain.context import Context
from chain.text import parse_uint
from infera.gov.v1 import genesis_pb2, types_pb2
from modules.gov import keys, logic
from modules.gov.keeper import GovKeeper
from modules.gov.params import MAX_TALLY_VOTES, default_params, validate_params

_OPEN = (types_pb2.PROPOSAL_STATUS_DEPOSIT_PERIOD, types_pb2.PROPOSAL_STATUS_VOTING_PERIOD)


def init_genesis(ctx: Context, keeper: GovKeeper, data: dict[str, Any]) -> None:
    """Load the state; the gov account must hold exactly the deposits of open proposals."""
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    params = genesis.params if genesis.HasField("params") else default_params()
    validate_params(params)
    keeper.set_params(ctx, params)
    keeper.set_next_id(ctx, max(genesis.starting_proposal_id, 1))
    open_ids = set()
    for proposal in genesis.proposals:
        if proposal.id >= max(genesis.starting_proposal_id, 1):
            raise ValueError(f"gov genesis: proposal {proposal.id} >= starting_proposal_id")
        keeper.set_proposal(ctx, proposal)
        if proposal.status == types_pb2.PROPOSAL_STATUS_DEPOSIT_PERIOD:
            keeper.insert_queue(ctx, keys.INACTIVE_QUEUE, proposal.deposit_end_time_ns, proposal.id)
        elif proposal.status == types_pb2.PROPOSAL_STATUS_VOTING_PERIOD:
            keeper.insert_queue(ctx, keys.ACTIVE_QUEUE, proposal.voting_end_time_ns, proposal.id)
        if proposal.status in _OPEN:
            open_ids.add(proposal.id)
    total = 0
    for deposit in genesis.deposits:
        if deposit.proposal_id not in open_ids:
            raise ValueError(f"gov genesis: deposit on proposal {deposit.proposal_id} not open")
        keeper.set_deposit(ctx, crypto.from_bech32(deposit.depositor), deposit)
        total += int(deposit.amount.amount)
    seats: dict[int, int] = {}
    for vote in genesis.votes:
        if vote.proposal_id not in open_ids:
            raise ValueError(f"gov genesis: vote on proposal {vote.proposal_id} not open")
        logic.compute_options(vote.options)  # ValueError when malformed
        voter = crypto.from_bech32(vote.voter)
        keeper.set_vote(ctx, voter, vote)
        keeper.set_seat(ctx, vote.proposal_id, parse_uint(vote.seat_stake or "0"), voter)
        seats[vote.proposal_id] = seats.get(vote.proposal_id, 0) + 1
    for proposal in genesis.proposals:
        if proposal.status in _OPEN and proposal.vote_count != seats.get(proposal.id, 0):
            raise ValueError(f"gov genesis: proposal {proposal.id} vote_count differs")
        if proposal.vote_count > MAX_TALLY_VOTES:
            raise ValueError(f"gov genesis: proposal {proposal.id} over {MAX_TALLY_VOTES} votes")
    if genesis.HasField("plan") and genesis.plan.name:
        keeper.set_plan(ctx, genesis.plan)
    for applied in genesis.applied:
        keeper.set_done(ctx, applied.name, applied.height)
    held = keeper.bank.get_balance(
        ctx, crypto.module_address(keys.GOV_MODULE), params.min_deposit.denom
    )
    if held != total:
        raise ValueError(f"gov account holds {held} but genesis deposits total {total}")


def export_genesis(ctx: Context, keeper: GovKeeper) -> dict[str, Any]:
    proposals = list(keeper.iterate_proposals(ctx))
    genesis = genesis_pb2.GenesisState(
        params=keeper.get_params(ctx),
        starting_proposal_id=keeper.get_next_id(ctx),
        proposals=proposals,
    )
    for proposal in proposals:
        genesis.deposits.extend(d for _, d in keeper.iterate_deposits(ctx, proposal.id))
        genesis.votes.extend(v for _, v in keeper.iterate_votes(ctx, proposal.id))
    plan = keeper.get_plan(ctx)
    if plan is not None:
        genesis.plan.CopyFrom(plan)
    for name, height in keeper.iterate_done(ctx):
        genesis.applied.add(name=name, height=height)
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
