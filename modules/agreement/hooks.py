"""The hooks inference calls at a job's turning points (inference/expected.py JobHooks)."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto, sealing
from chain.context import Context
from chain.events import attr
from infera.agreement.v1 import types_pb2 as agreement_types
from infera.inference.v1 import types_pb2 as inference_pb2
from modules.agreement import events, logic, reputations, settlement, verifications
from modules.agreement.keeper import AgreementKeeper

OPEN_GAS_FLAT = 10_000  # per sealed output opened on disclosure (one X25519 and one AEAD pass)
OPEN_GAS_PER_BYTE = 30  # per byte of sealed output opened


class RoundHooks:
    """Opens a job's commit and reveal rounds at assignment and tallies it at its deadline."""

    def __init__(self, keeper: AgreementKeeper) -> None:
        self.keeper = keeper

    def round_windows(self, ctx: Context, max_new_tokens: int) -> tuple[int, int]:
        """(commit, reveal) window in blocks for a job submitted now (logic.compute_round_windows);
        inference stores them on the job, so later params changes never move them."""
        return logic.compute_round_windows(self.keeper.get_params(ctx), max_new_tokens)

    def open_rounds(self, ctx: Context, job: inference_pb2.Job) -> tuple[int, int]:
        """Commits run through assign height + the job's commit window, reveals for its reveal
        window after that (both inclusive); the commit round closes at the end of commit_end."""
        commit_window, reveal_window = job.commit_window_blocks, job.reveal_window_blocks
        if commit_window == 0:  # a job imported from a genesis older than stored windows
            commit_window, reveal_window = self.round_windows(ctx, job.max_new_tokens)
        commit_end = ctx.block.height + commit_window
        reveal_end = commit_end + reveal_window
        self.keeper.schedule(ctx, job.id, commit_end)
        return commit_end, reveal_end

    def close_rounds(self, ctx: Context, job_id: int) -> None:
        """The job's deadline came with its rounds open: tally it with what was revealed. A
        disputed job whose verification is still open gets its deadline moved past the verdict
        window instead (verifications.keep_open): a deadline never cuts a verdict short."""
        job = self.keeper.inference.get_job(ctx, job_id)
        if job is None:
            return
        if job.state == inference_pb2.JOB_STATE_DISPUTED:
            verifications.keep_open(ctx, self.keeper, job_id)
            return
        settlement.settle_job(ctx, self.keeper, job)

    def open_disclosed_outputs(
        self, ctx: Context, job: inference_pb2.Job, reply_private: bytes, output_key: bytes
    ) -> int:
        """Open the first hops' sealed outputs of a disclosed sealed job and store the tokens
        of every stored output whose sealed hash they reproduce (a first hop that sealed other
        tokens than it committed to opens nothing). Metered per box and per byte."""
        opened = 0
        for reveal in self.keeper.iterate_reveals(ctx, job.id):
            if reveal.hop_index != 0 or not reveal.sealed_output:
                continue
            ctx.gas.consume(
                OPEN_GAS_FLAT + OPEN_GAS_PER_BYTE * len(reveal.sealed_output),
                "sealed job disclosure: open output",
            )
            output = self.keeper.get_output(ctx, job.id, reveal.output_hash)
            if output is None or output.tokens:
                continue
            place = sealing.Place(
                ctx.block.chain_id, job.id, reveal.route_index, 0, sealing.PURPOSE_OUTPUT
            )
            try:
                tokens = sealing.decode_output_payload(
                    sealing.open_box(reply_private, reveal.sealed_output, place)
                )
            except sealing.SealingError:
                continue
            keyed = sealing.compute_keyed_output_hash(output_key, tokens)
            if sealing.compute_sealed_output_hash(keyed, len(tokens)) != reveal.output_hash:
                continue
            output.tokens.extend(tokens)
            self.keeper.set_output(ctx, job.id, output)
            opened += 1
        return opened

    def penalize_false_contests(
        self, ctx: Context, job: inference_pb2.Job, hops: list[tuple[int, int]]
    ) -> None:
        """A disclosure rebuilt these contested hops' boxes: they did open. Each is slashed and
        loses reputation as a hop that withheld its reveal (settlement's no_reveal rule), and
        the penalty is added to the job's settlement when it has one."""
        params = self.keeper.get_params(ctx)
        settlement = self.keeper.get_settlement(ctx, job.id)
        record = settlement or agreement_types.Settlement(job_id=job.id)
        penalty = logic.decimal_ratio(params.reputation_penalty_cheat)
        for route_index, hop_index in hops:
            worker = job.routes[route_index].hops[hop_index].worker
            slashed = self.keeper.workers.slash(
                ctx, crypto.from_bech32(worker), params.slash_fraction_withhold, "false_contest"
            )
            record.penalties.add(worker=worker, route_index=route_index, hop_index=hop_index,
                                 slashed=str(slashed), reason="false_contest")  # fmt: skip
            reputation = reputations.adjust_reputation(ctx, self.keeper, worker, penalty, record)
            ctx.events.emit(
                events.FALSE_CONTEST,
                attr("job_id", job.id, index=True),
                attr("worker", worker, index=True),
                attr("route", route_index),
                attr("hop", hop_index),
                attr("slashed", slashed),
                attr("reputation", reputation),
            )
        if settlement is not None:
            self.keeper.set_settlement(ctx, record)
