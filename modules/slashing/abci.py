"""slashing's begin-block: count every vote of the last commit into its validator's window;
jail and slash a validator that missed more than allowed."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.context import CommitVote, Context
from chain.events import attr
from infera.slashing.v1 import types_pb2
from modules.slashing import events, logic
from modules.slashing.keeper import SlashingKeeper


def process_liveness(ctx: Context, keeper: SlashingKeeper) -> None:
    """One window step per vote in ``ctx.block.last_commit`` (CometBFT's order; each address
    once). Work per block: O(validators in the commit)."""
    params = keeper.get_params(ctx)
    seen: set[bytes] = set()
    for vote in ctx.block.last_commit:
        if vote.address not in seen:
            seen.add(vote.address)
            _handle_vote(ctx, keeper, params, vote)


def _handle_vote(
    ctx: Context, keeper: SlashingKeeper, params: types_pb2.Params, vote: CommitVote
) -> None:
    operator = keeper.staking.get_operator_by_consensus(ctx, vote.address)
    validator = None if operator is None else keeper.staking.get_validator(ctx, operator)
    if operator is None or validator is None or validator.jailed:
        return  # a jailed validator leaves the set within two blocks: its votes are not due
    height = ctx.block.height
    info = keeper.get_info(ctx, vote.address) or types_pb2.ValidatorSigningInfo(
        address=vote.address, start_height=height
    )
    index = info.index_offset % params.signed_blocks_window
    info.index_offset += 1
    was_missed, missed = keeper.is_missed(ctx, vote.address, index), not vote.signed
    if missed != was_missed:
        keeper.set_missed(ctx, vote.address, index, missed)
        info.missed_blocks_counter += 1 if missed else -1
    if missed:
        ctx.events.emit(
            events.LIVENESS,
            attr("validator", validator.operator_address, index=True),
            attr("missed_blocks", info.missed_blocks_counter),
            attr("height", height),
        )
    if logic.is_downtime(info, params, height):
        _punish_downtime(ctx, keeper, params, operator, info)
    keeper.set_info(ctx, info)


def _punish_downtime(
    ctx: Context,
    keeper: SlashingKeeper,
    params: types_pb2.Params,
    operator: bytes,
    info: types_pb2.ValidatorSigningInfo,
) -> None:
    """Slash, jail until block time + jail duration, and start a fresh window (Cosmos SDK)."""
    infraction = logic.compute_infraction_height(ctx.block.height)
    slashed = keeper.actions.slash(ctx, operator, infraction, params.slash_fraction_downtime)
    keeper.actions.jail(ctx, operator)
    info.jailed_until_ns = ctx.block.time_ns + params.downtime_jail_duration_ns
    info.missed_blocks_counter, info.index_offset = 0, 0
    keeper.clear_missed(ctx, info.address)
    validator = keeper.staking.get_validator(ctx, operator)
    ctx.events.emit(
        events.SLASH,
        attr("validator", validator.operator_address if validator else "", index=True),
        attr("reason", "missing_signature"),
        attr("slashed", slashed),
        attr("jailed_until_ns", info.jailed_until_ns),
    )
