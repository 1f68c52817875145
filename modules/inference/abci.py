"""inference end-block: assign routes to waiting jobs, then settle jobs whose deadline came.

Both are bounded per block by params (max_assignments_per_block, max_expiries_per_block): what
does not fit waits for the next block, oldest first. Each job is processed on its own branch, so
a failure leaves that job untouched and the others unaffected.
"""

from __future__ import annotations

import json
from typing import Any

import chain.pb  # noqa: F401

import structlog

from chain import crypto
from chain.context import Context
from chain.errors import ChainError
from chain.events import attr
from infera.inference.v1 import types_pb2
from modules.inference import events, keys, logic
from modules.inference.keeper import InferenceKeeper, job_attributes

log = structlog.get_logger("modules.inference")


def process_assignments(ctx: Context, keeper: InferenceKeeper) -> None:
    """Give SUBMITTED jobs their routes, in submission order, up to the per-block cap.

    No operator holds more than sharding's ``max_operator_routes_per_block`` routes of one
    model among one block's assignments. A draw that would give an operator one more is not
    re-drawn without it (that would hand its share to the others, Sybils included): the job
    and every later job of the model wait for the next block, where they are drawn afresh
    (sharding README, "Per-block cap")."""
    params = keeper.get_params(ctx)
    cap = keeper.sharding.get_operator_route_cap(ctx)
    load: dict[tuple[str, bytes], int] = {}  # (model, operator) -> routes held in this block
    paused: set[str] = set()  # models whose queue waits for the next block
    for job_id in keeper.submitted_job_ids(ctx, params.max_assignments_per_block):
        child, cache = ctx.branch()
        job = keeper.get_job(child, job_id)
        assert job is not None  # the index only names stored jobs
        if job.model_id in paused:
            continue
        try:
            assign_job(child, keeper, job)
        except ChainError as err:
            child, cache = ctx.branch()  # drop the half-made assignment, refund instead
            job = keeper.get_job(child, job_id)
            assert job is not None
            keeper.expire_job(child, job, f"route assignment failed: {err.log}")
        operators = [
            (job.model_id, crypto.from_bech32(hop.worker))
            for route in job.routes
            for hop in route.hops
        ]
        if any(load.get(key, 0) >= cap for key in operators):
            paused.add(job.model_id)  # discard the branch: the job stays SUBMITTED
            continue
        cache.write()
        ctx.events.extend(child.events)
        for key in operators:
            load[key] = load.get(key, 0) + 1


def assign_job(ctx: Context, keeper: InferenceKeeper, job: types_pb2.Job) -> None:
    """Select the routes with the seed of this block, open the rounds, tell the workers. The
    job's precision class is fixed here: every hop declares it now, and verification reads it
    from the job, whatever the workers declare later."""
    rounds = job.commit_window_blocks + job.reveal_window_blocks  # fixed at submission
    seal_window = keeper.get_params(ctx).seal_window_blocks if logic.is_sealed(job) else 0
    if ctx.block.height + seal_window + rounds >= job.deadline_height:
        keeper.expire_job(ctx, job, "too close to the deadline for the commit and reveal rounds")
        return
    # Route and sampling seed: the beacon of the submission height, revealed only after the
    # submission was fixed (modules/beacon); the job waits a block for it.
    randomness = ctx.block.hash
    if keeper.beacon is not None:
        revealed = keeper.beacon.get_randomness(ctx, job.submit_height)
        if revealed is None:
            return
        randomness = revealed
    job.seed = logic.compute_seed(randomness, job.id)
    job.precision, selected = keeper.sharding.select_job_routes(
        ctx,
        job.model_id,
        job.redundancy,
        job.seed,
        precision=job.requested_precision,
    )
    for hops in selected:
        route = job.routes.add()
        for hop in hops:
            worker = keeper.workers.get_worker(ctx, hop.operator)
            route.hops.add(
                worker=crypto.to_bech32(hop.operator),
                layer_start=hop.start,
                layer_end=hop.end,
                endpoint=worker.endpoint if worker is not None else "",
            )
    job.state = types_pb2.JOB_STATE_ASSIGNED
    job.assign_height = ctx.block.height
    if logic.is_sealed(job):  # the rounds open when the submitter seals (MsgSealPrompt)
        job.sealed.seal_end_height = ctx.block.height + seal_window
    else:
        job.commit_end_height, job.reveal_end_height = keeper.hooks.open_rounds(ctx, job)
    keeper.set_job(ctx, job)
    ctx.events.emit(events.JOB_ASSIGNED, *assignment_attributes(job))


def assignment_attributes(job: types_pb2.Job) -> list:
    """What a worker needs to start: its hop, span and the endpoint to stream hidden states to."""
    out = list(job_attributes(job))
    for route_index, route in enumerate(job.routes):
        for hop_index, hop in enumerate(route.hops):
            out.append(attr("worker", hop.worker, index=True))
            last = hop_index + 1 == len(route.hops)
            hop_view = {
                "route": route_index,
                "hop": hop_index,
                "worker": hop.worker,
                "start": hop.layer_start,
                "end": hop.layer_end,
                "endpoint": hop.endpoint,
                "next_endpoint": "" if last else route.hops[hop_index + 1].endpoint,
            }
            out.append(attr("hop", json.dumps(hop_view, sort_keys=True, separators=(",", ":"))))
    decoding = types_pb2.DecodingMode.Name(job.decoding.mode)
    out += [
        attr("seed", job.seed.hex()),
        attr("precision", job.precision),
        attr("decoding", decoding),
        attr("temperature_milli", job.decoding.temperature_milli),
        attr("top_k", job.decoding.top_k),
        attr("max_new_tokens", job.max_new_tokens),
        attr("commit_end_height", job.commit_end_height),
        attr("reveal_end_height", job.reveal_end_height),
        attr("deadline_height", job.deadline_height),
        attr("privacy", types_pb2.PrivacyMode.Name(job.privacy)),
        attr("seal_end_height", job.sealed.seal_end_height),
    ]
    return out


def process_seal_timeouts(ctx: Context, keeper: InferenceKeeper) -> None:
    """Refund, in full, every assigned sealed job whose submitter did not seal it by the end of
    its seal window. No hop is blamed: no hop could have started (its rounds never opened).
    Capped by max_expiries_per_block, oldest seal deadline first; each job on its branch."""
    params = keeper.get_params(ctx)
    for job_id in keeper.seal_due_job_ids(ctx, ctx.block.height, params.max_expiries_per_block):
        child, cache = ctx.branch()
        job = keeper.get_job(child, job_id)
        assert job is not None  # the index only names stored jobs
        keeper.expire_job(child, job, "not sealed in the seal window; refunded")
        cache.write()
        ctx.events.extend(child.events)


def process_deadlines(ctx: Context, keeper: InferenceKeeper) -> None:
    """Settle every open job whose deadline is this block (or earlier, when deferred).

    Fault barrier: a job whose settlement raises (a bug, or state no rule foresaw) must not
    stop FinalizeBlock, and must not stay in the queue to fail again every block. Its branch is
    dropped and the job is expired with a refund on a fresh one; if even that fails, its
    deadline entry is removed (the job is skipped). Exceptions are deterministic for the same
    code and state, so every validator takes the same path."""
    params = keeper.get_params(ctx)
    for job_id in keeper.due_job_ids(ctx, ctx.block.height, params.max_expiries_per_block):
        child, cache = ctx.branch()
        try:
            settle_at_deadline(child, keeper, job_id)
        except Exception:
            log.exception("settling a job at its deadline failed", job_id=job_id)
            child, cache = _fail_safe(ctx, keeper, job_id)
        cache.write()
        ctx.events.extend(child.events)


def _fail_safe(ctx: Context, keeper: InferenceKeeper, job_id: int) -> tuple[Context, Any]:
    """A branch that closes ``job_id`` after its settlement failed: expired and refunded, or,
    when that fails too, only taken off the deadline queue."""
    child, cache = ctx.branch()
    try:
        job = keeper.get_job(child, job_id)
        if job is None or logic.is_terminal(job.state):
            raise RuntimeError(f"job {job_id} in the deadline queue is missing or closed")
        keeper.expire_job(child, job, "internal error at the deadline; refunded")
        return child, cache
    except Exception:
        log.exception("expiring a failed job failed; removing it from the queue", job_id=job_id)
    child, cache = ctx.branch()
    due = child.store.iterate(keys.DEADLINE, keys.DEADLINE + keys.u64(ctx.block.height + 1))
    for key, _ in list(due):  # the job is due, so its entry is at or before this height
        if key.endswith(keys.u64(job_id)):
            child.store.delete(key)
    return child, cache


def settle_at_deadline(ctx: Context, keeper: InferenceKeeper, job_id: int) -> None:
    """Let the rounds tally what they have, then refund and expire whatever is still open.
    A disputed job goes to the hooks too: while validators are still to give its verdict, they
    move its deadline past the verdict window, and it stays open."""
    job = keeper.get_job(ctx, job_id)
    assert job is not None
    awaiting_seal = keys.is_awaiting_seal(job)  # rounds never opened: nobody to tally or blame
    if not awaiting_seal and (
        job.state in logic.ROUND_STATES or job.state == types_pb2.JOB_STATE_DISPUTED
    ):
        keeper.hooks.close_rounds(ctx, job_id)
        job = keeper.get_job(ctx, job_id)
        assert job is not None
    if not logic.is_terminal(job.state) and job.deadline_height <= ctx.block.height:
        keeper.expire_job(ctx, job, _DEADLINE_REASONS.get(job.state, "deadline reached"))


_DEADLINE_REASONS = {
    types_pb2.JOB_STATE_SUBMITTED: "deadline reached before route assignment",
    types_pb2.JOB_STATE_DISPUTED: "dispute unresolved at the deadline",
}
