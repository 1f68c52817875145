"""workers invariants: the module accounts hold exactly the stake the worker records say, and
the span index mirrors the spans in the worker records."""

from __future__ import annotations

from chain import crypto
from chain.context import Context
from modules.workers import keys, logic
from modules.workers.keeper import WorkersKeeper


def check_invariants(ctx: Context, keeper: WorkersKeeper) -> list[str]:
    """Descriptions of every broken invariant (empty when all hold)."""
    denom = keeper.get_params(ctx).bond_denom
    bonded = unbonding = 0
    recorded: set[tuple[str, bytes, int, int]] = set()
    broken = []
    for operator, worker in keeper.iterate_workers(ctx):
        bonded += int(worker.bonded)
        unbonding += int(worker.unbonding)
        recorded |= {(s.model_id, operator, s.start, s.end) for s in worker.spans}
        if worker.status == logic.UNBONDING and (worker.spans or int(worker.bonded)):
            broken.append(f"{worker.operator}: unbonding yet serving or holding bonded stake")
    if recorded != set(keeper.iterate_all_spans(ctx)):
        broken.append("span index differs from the spans in worker records")
    for pool, expected in ((keys.BONDED_POOL, bonded), (keys.UNBONDING_POOL, unbonding)):
        held = keeper.bank.get_balance(ctx, crypto.module_address(pool), denom)
        if held != expected:
            broken.append(f"{pool} holds {held}{denom}, workers account for {expected}{denom}")
    return broken
