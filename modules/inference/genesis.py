"""inference genesis: params, jobs (indexes and queues rebuilt from them) and the next job id."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain.context import Context
from infera.inference.v1 import genesis_pb2
from modules.inference import invariants
from modules.inference.keeper import InferenceKeeper
from modules.inference.params import default_params, validate_params


def init_genesis(ctx: Context, keeper: InferenceKeeper, data: dict[str, Any]) -> None:
    """Load params and jobs; the escrow account must hold exactly the open jobs' escrow."""
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    params = genesis.params if genesis.HasField("params") else default_params()
    validate_params(params)
    keeper.set_params(ctx, params)
    next_id = genesis.next_job_id or 1
    for job in sorted(genesis.jobs, key=lambda j: j.id):
        if not 1 <= job.id < next_id:
            raise ValueError(f"genesis job {job.id} is not below next_job_id {next_id}")
        keeper.set_job(ctx, job)
    for seals in genesis.seals:
        if keeper.get_job(ctx, seals.job_id) is None:
            raise ValueError(f"genesis seals name unknown job {seals.job_id}")
        keeper.set_seals(ctx, seals)
    keeper.set_next_job_id(ctx, next_id)
    problem = invariants.check_escrow(ctx, keeper)
    if problem:
        raise ValueError(f"inference genesis: {problem}")


def export_genesis(ctx: Context, keeper: InferenceKeeper) -> dict[str, Any]:
    genesis = genesis_pb2.GenesisState(
        params=keeper.get_params(ctx),
        jobs=list(keeper.iterate_jobs(ctx)),
        next_job_id=keeper.get_next_job_id(ctx),
        seals=list(keeper.iterate_seals(ctx)),
    )
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
