"""workers block hooks: pay back matured unbondings at the end of a block (bounded per block)."""

from __future__ import annotations

from chain import crypto
from chain.context import Context
from chain.events import attr
from chain.tx import Coin
from modules.workers import events, keys
from modules.workers.keeper import WorkersKeeper


def process_mature_unbondings(ctx: Context, keeper: WorkersKeeper) -> None:
    """Pay each unbonding due at or before this height back to its operator (what slashes left)
    and delete the worker; at most max_unbondings_per_block, oldest first, the rest next block."""
    params = keeper.get_params(ctx)
    due: list[tuple[int, bytes]] = []
    for entry in keeper.iterate_mature_unbondings(ctx, ctx.block.height):
        if len(due) == params.max_unbondings_per_block:
            break
        due.append(entry)
    for completion_height, operator in due:  # collected first: never write while iterating
        keeper.dequeue_unbonding(ctx, completion_height, operator)
        worker = keeper.get_worker(ctx, operator)
        amount = int(worker.unbonding) if worker is not None else 0
        if amount > 0:
            coins = [Coin(params.bond_denom, amount)]
            keeper.bank.send_coins_from_module(ctx, keys.UNBONDING_POOL, operator, coins)
        keeper.delete_worker(ctx, operator)
        ctx.events.emit(
            events.UNBONDING_COMPLETE,
            attr("worker", crypto.to_bech32(operator), index=True),
            attr("amount", amount),
        )
