"""The hooks inference calls at a job's turning points (inference/expected.py JobHooks)."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.context import Context
from infera.inference.v1 import types_pb2 as inference_pb2
from modules.agreement import settlement
from modules.agreement.keeper import AgreementKeeper


class RoundHooks:
    """Opens a job's commit and reveal rounds at assignment and tallies it at its deadline."""

    def __init__(self, keeper: AgreementKeeper) -> None:
        self.keeper = keeper

    def rounds_blocks(self, ctx: Context) -> int:
        """Blocks after the assigning block until the reveal round has ended."""
        params = self.keeper.get_params(ctx)
        return params.commit_window_blocks + params.reveal_window_blocks

    def open_rounds(self, ctx: Context, job: inference_pb2.Job) -> tuple[int, int]:
        """Commits run through assign height + commit window, reveals for the reveal window after
        that (both inclusive); the commit round closes at the end of commit_end."""
        params = self.keeper.get_params(ctx)
        commit_end = ctx.block.height + params.commit_window_blocks
        reveal_end = commit_end + params.reveal_window_blocks
        self.keeper.schedule(ctx, job.id, commit_end)
        return commit_end, reveal_end

    def close_rounds(self, ctx: Context, job_id: int) -> None:
        """The job's deadline came with its rounds open: tally it with what was revealed."""
        job = self.keeper.inference.get_job(ctx, job_id)
        if job is not None:
            settlement.settle_job(ctx, self.keeper, job)
