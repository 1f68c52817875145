"""Reputation changes of a settled job: who gains, who loses, and who is left alone.

- every hop of a winning (paid) route: x ``reputation_reward``;
- every hop that revealed an output the settlement did not accept: x
  ``reputation_penalty_mismatch``, EXCEPT on a route where the validators' verdict named a
  culprit hop. A route's hops all reveal the route's output, so the honest hops after (or
  before) a cheater reveal the cheater's output too: they computed honestly on what they were
  sent. Once the verdict names who deviated, only the culprit is punished (verdicts.py: slash
  and x ``reputation_penalty_cheat``, instead of the mismatch penalty). With no culprit named on
  a failing route (agreement alone, or evidence that singles nobody out), the small mismatch
  penalty falls on the route's LAST hop alone when it revealed that output: the tokens are its
  choice (it turns the final states into logits and picks each token); its mates only computed
  and relayed states the verdict found nothing wrong with (issue 14: a steering last hop's two
  honest mates lost reputation in every job). A route whose last hop revealed nothing or another
  output keeps the old rule: each hop that revealed the failing output takes the penalty, as
  honest near-tie divergence can;
- hops that revealed an accepted output on a route that did not win are unchanged.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.errors import ChainError
from infera.agreement.v1 import types_pb2
from infera.inference.v1 import types_pb2 as inference_pb2
from modules.agreement import logic

if TYPE_CHECKING:
    from modules.agreement.keeper import AgreementKeeper


def get_revealed(ctx: Context, keeper: AgreementKeeper, job_id: int) -> dict[logic.Position, bytes]:
    """Each revealed hop's output hash, by (route, hop)."""
    return {
        (r.route_index, r.hop_index): r.output_hash for r in keeper.iterate_reveals(ctx, job_id)
    }


def adjust_reputations(
    ctx: Context,
    keeper: AgreementKeeper,
    job: inference_pb2.Job,
    passing: frozenset[bytes],
    winning: Collection[int],
    settlement: types_pb2.Settlement,
    culprit_routes: frozenset[int] = frozenset(),
) -> None:
    """Winning routes' hops gain reputation; hops that revealed an output not in ``passing``
    lose some, unless their route is in ``culprit_routes`` (see the module docstring)."""
    params = keeper.get_params(ctx)
    reward = logic.decimal_ratio(params.reputation_reward)
    mismatch = logic.decimal_ratio(params.reputation_penalty_mismatch)
    for route_index in sorted(winning):
        for hop in job.routes[route_index].hops:
            adjust_reputation(ctx, keeper, hop.worker, reward, settlement)
    revealed = get_revealed(ctx, keeper, job.id)
    for (route_index, hop_index), output_hash in sorted(revealed.items()):
        if output_hash in passing or route_index in culprit_routes:
            continue
        last = len(job.routes[route_index].hops) - 1
        if hop_index != last and revealed.get((route_index, last)) == output_hash:
            continue  # the last hop chose these tokens; it alone takes the penalty
        worker = job.routes[route_index].hops[hop_index].worker
        adjust_reputation(ctx, keeper, worker, mismatch, settlement)


def adjust_reputation(
    ctx: Context,
    keeper: AgreementKeeper,
    worker: str,
    ratio: tuple[int, int],
    settlement: types_pb2.Settlement,
) -> int:
    """Multiply a worker's reputation by ``ratio``; a worker gone from state is skipped (-1)."""
    try:
        reputation = keeper.workers.adjust_reputation(ctx, crypto.from_bech32(worker), *ratio)
    except ChainError:
        return -1
    settlement.reputations.add(worker=worker, reputation=reputation)
    return reputation
