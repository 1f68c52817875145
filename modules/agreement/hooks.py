"""The hooks inference calls at a job's turning points (inference/expected.py JobHooks)."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.context import Context
from infera.inference.v1 import types_pb2 as inference_pb2
from modules.agreement import logic, settlement, verifications
from modules.agreement.keeper import AgreementKeeper


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
