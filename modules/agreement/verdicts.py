"""Validators' verdicts on disputed and audited jobs, delivered through vote extensions.

Each validator running a verifier (teacher-forced re-scoring plus per-hop fingerprint checks;
see inference_worker/verify/verifier.py) attaches a ``VoteExtension`` of ``Verdict``s to its precommit.
The next block carries those extensions (chain/vote_extensions.py verifies their signatures and
that more than 2/3 of the power signed); here every verdict is recorded and, per job, identical
verdicts are tallied by voting power. A verdict backed by more than 2/3 of the total power of
that height is applied:
  - disputed job: the first passing output is delivered and every complete route that revealed
    a passing output is paid (honest near-tie divergence is not punished); with no passing
    output the submitter is refunded; each culprit hop is slashed ``slash_fraction_cheat`` and
    its reputation multiplied by ``reputation_penalty_cheat``.
  - audited job (finalized by agreement, drawn with ``audit_probability``; its charge is held,
    audits.py): if its output is among the passing ones the held payouts are made; otherwise
    the output of a complete route the verdict passes is delivered and that route paid out of
    the hold (the rest refunded), or with none the submitter gets the held charge back; the
    culprit hops (colluders) are slashed the same way.
On a route with a named culprit the other hops take no mismatch penalty (reputations.py).
Validators without a verifier send empty extensions: they abstain, and abstention only ever
delays a decision (an unresolved dispute is refunded at its deadline; an undecided audit's hold
is paid at the end of its window).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import chain.pb  # noqa: F401

from google.protobuf.message import DecodeError

from chain import crypto
from chain.context import Context
from chain.errors import ChainError
from chain.events import attr
from chain.vote_extensions import ExtendedVote
from infera.agreement.v1 import types_pb2
from infera.inference.v1 import types_pb2 as inference_pb2
from modules.agreement import audits, events, keys, logic, settlement

if TYPE_CHECKING:
    from modules.agreement.keeper import AgreementKeeper

MAX_VERDICTS = 64  # per vote extension
MAX_PASSING = 8  # passing outputs per verdict (at most one per route)
MAX_CULPRITS = 64  # culprit hops per verdict

# A node-local source of this validator's verdicts (the verifier sidecar's inbox): given the
# ids of the jobs open for verdicts, it returns the verdicts it has for them.
VerdictSource = Callable[[Sequence[int]], Sequence[types_pb2.Verdict]]


def is_canonical_verdict(verdict: types_pb2.Verdict) -> bool:
    """Sorted, duplicate-free and bounded, so equal findings have equal bytes."""
    passing = list(verdict.passing_output_hashes)
    culprits = [(c.route_index, c.hop_index) for c in verdict.culprits]
    return (
        len(passing) <= MAX_PASSING
        and len(culprits) <= MAX_CULPRITS
        and all(len(h) == logic.HASH_LENGTH for h in passing)
        and passing == sorted(set(passing))
        and culprits == sorted(set(culprits))
    )


def decode_extension(extension: bytes) -> types_pb2.VoteExtension | None:
    """The extension's verdicts, or None when it is not a canonical VoteExtension."""
    message = types_pb2.VoteExtension()
    try:
        message.ParseFromString(extension)
    except DecodeError:
        return None
    message.DiscardUnknownFields()
    if message.SerializeToString(deterministic=True) != extension:
        return None  # unknown fields or a non-canonical encoding
    ids = [v.job_id for v in message.verdicts]
    if len(ids) > MAX_VERDICTS or ids != sorted(set(ids)):
        return None
    if not all(is_canonical_verdict(v) for v in message.verdicts):
        return None
    return message


def is_open_for_verdicts(ctx: Context, keeper: AgreementKeeper, job_id: int) -> bool:
    """An unresolved dispute, or an undecided audit within its window."""
    dispute = keeper.get_dispute(ctx, job_id)
    if dispute is not None and not dispute.resolved:
        job = keeper.inference.get_job(ctx, job_id)
        return job is not None and job.state == inference_pb2.JOB_STATE_DISPUTED
    audit = keeper.get_audit(ctx, job_id)
    return audit is not None and not audit.decided and ctx.block.height <= audit.deadline_height


def open_job_ids(ctx: Context, keeper: AgreementKeeper, limit: int = MAX_VERDICTS) -> list[int]:
    """Jobs validators should give verdicts on (oldest first, bounded)."""
    ids = [d.job_id for d in keeper.iterate_all(ctx, keys.DISPUTE, types_pb2.Dispute)]
    ids += [a.job_id for a in keeper.iterate_audits(ctx)]
    open_ids = sorted({i for i in ids if is_open_for_verdicts(ctx, keeper, i)})
    return open_ids[:limit]


class VerdictVotes:
    """The agreement module's vote-extension handler (chain.vote_extensions.VoteExtensionHandler)."""

    def __init__(self, keeper: AgreementKeeper, source: VerdictSource | None = None) -> None:
        self.keeper = keeper
        self.source = source  # node-local; None for a validator without a verifier

    def extend_vote(self, ctx: Context, height: int) -> bytes:
        if self.source is None:
            return b""
        open_ids = set(open_job_ids(ctx, self.keeper))
        verdicts = sorted(
            (v for v in self.source(sorted(open_ids)) if v.job_id in open_ids),
            key=lambda v: v.job_id,
        )
        unique = {v.job_id: v for v in verdicts if is_canonical_verdict(v)}
        message = types_pb2.VoteExtension(verdicts=[unique[i] for i in sorted(unique)])
        return message.SerializeToString(deterministic=True) if unique else b""

    def verify_vote_extension(self, extension: bytes) -> bool:
        return extension == b"" or decode_extension(extension) is not None

    def process_votes(self, ctx: Context, votes: Sequence[ExtendedVote], total_power: int) -> None:
        """Record every verdict, then apply those with more than 2/3 of ``total_power``."""
        tally: dict[int, dict[bytes, int]] = defaultdict(lambda: defaultdict(int))
        for vote in votes:
            message = decode_extension(vote.extension) if vote.extension else None
            for verdict in message.verdicts if message is not None else ():
                if not is_open_for_verdicts(ctx, self.keeper, verdict.job_id):
                    continue
                _record(ctx, self.keeper, vote, verdict)
                tally[verdict.job_id][verdict.SerializeToString(deterministic=True)] += vote.power
        for job_id in sorted(tally):
            for encoded, power in sorted(tally[job_id].items()):
                if 3 * power > 2 * total_power:
                    self._apply(ctx, types_pb2.Verdict.FromString(encoded))

    def _apply(self, ctx: Context, verdict: types_pb2.Verdict) -> None:
        """Apply a decided verdict on its own branch: an invalid one changes nothing."""
        child, cache = ctx.branch()
        try:
            apply_verdict(child, self.keeper, verdict)
        except ChainError as err:
            ctx.events.emit(
                events.VERDICT_RECORDED,
                attr("job_id", verdict.job_id, index=True),
                attr("rejected", err.log),
            )
            return
        cache.write()
        ctx.events.extend(child.events)


def _record(
    ctx: Context, keeper: AgreementKeeper, vote: ExtendedVote, verdict: types_pb2.Verdict
) -> None:
    passing = list(verdict.passing_output_hashes)
    record = types_pb2.DisputeVote(
        job_id=verdict.job_id,
        validator=vote.validator_address.hex(),
        output_hash=passing[0] if passing else b"",
        power=vote.power,
        height=ctx.block.height,
        passing_output_hashes=passing,
        culprits=list(verdict.culprits),
    )
    keeper.set_vote(ctx, vote.validator_address, record)
    ctx.events.emit(
        events.VERDICT_RECORDED,
        attr("job_id", verdict.job_id, index=True),
        attr("validator", vote.validator_address.hex(), index=True),
        attr("power", vote.power),
    )


def apply_verdict(ctx: Context, keeper: AgreementKeeper, verdict: types_pb2.Verdict) -> None:
    """Settle a dispute or decide an audit as the validators found (see module docstring)."""
    job = keeper.inference.get_job(ctx, verdict.job_id)
    assert job is not None  # open_for_verdicts checked it
    passing = frozenset(verdict.passing_output_hashes)
    culprit_routes = frozenset(route for route, _ in _culprit_positions(job, verdict))
    audit = keeper.get_audit(ctx, job.id)
    if job.state == inference_pb2.JOB_STATE_DISPUTED:
        if passing:
            first = sorted(passing)[0]
            settlement.resolve_dispute(
                ctx, keeper, job.id, first, passing - {first}, culprit_routes
            )
        else:
            keeper.inference.expire_job(ctx, job, "validators found no claimed output correct")
            _close_dispute(ctx, keeper, job.id)
    elif audit is not None:
        audits.decide_audit(ctx, keeper, job, audit, passing, culprit_routes)
    _punish_culprits(ctx, keeper, job, verdict)


def _culprit_positions(job: inference_pb2.Job, verdict: types_pb2.Verdict) -> list[tuple[int, int]]:
    """The verdict's culprits that name a hop of the job (others are ignored), sorted."""
    return [
        (c.route_index, c.hop_index)
        for c in verdict.culprits
        if c.route_index < len(job.routes) and c.hop_index < len(job.routes[c.route_index].hops)
    ]


def _close_dispute(ctx: Context, keeper: AgreementKeeper, job_id: int) -> None:
    dispute = keeper.get_dispute(ctx, job_id)
    assert dispute is not None
    dispute.resolved, dispute.resolved_height = True, ctx.block.height
    keeper.set_dispute(ctx, dispute)


def _punish_culprits(
    ctx: Context, keeper: AgreementKeeper, job: inference_pb2.Job, verdict: types_pb2.Verdict
) -> None:
    params = keeper.get_params(ctx)
    penalty = logic.decimal_ratio(params.reputation_penalty_cheat)
    for route_index, hop_index in _culprit_positions(job, verdict):
        worker = job.routes[route_index].hops[hop_index].worker
        operator = crypto.from_bech32(worker)
        slashed = keeper.workers.slash(ctx, operator, params.slash_fraction_cheat, "deviated")
        try:
            reputation = keeper.workers.adjust_reputation(ctx, operator, *penalty)
        except ChainError:
            reputation = -1
        ctx.events.emit(
            events.WORKER_PENALIZED,
            attr("job_id", job.id, index=True),
            attr("worker", worker, index=True),
            attr("reason", "deviated"),
            attr("slashed", slashed),
            attr("reputation", reputation),
        )
