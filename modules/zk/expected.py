"""What zk needs from other modules (wired in chain/wiring.py).

The inference side needs no zk code: a job of a model with a zk key is assigned routes as any
job; a hop of one of its routes submits the proof, and the zk module settles the job through
the inference keeper's own public methods (FINALIZED is a legal transition from ASSIGNED,
COMMITTING and REVEALING; agreement unschedules jobs that are no longer in its rounds).
"""

from __future__ import annotations

from typing import Protocol

import chain.pb  # noqa: F401

from chain.context import Context
from infera.inference.v1 import types_pb2 as inference_pb2
from infera.models.v1 import types_pb2 as models_pb2


class ModelsKeeper(Protocol):
    def get_model(self, ctx: Context, model_id: str) -> models_pb2.Model | None: ...


class InferenceKeeper(Protocol):
    def get_job(self, ctx: Context, job_id: int) -> inference_pb2.Job | None: ...

    def set_job(self, ctx: Context, job: inference_pb2.Job) -> None: ...

    def pay_from_escrow(
        self, ctx: Context, job: inference_pb2.Job, recipient: bytes, amount: int, denom: str
    ) -> None: ...

    def refund_escrow(self, ctx: Context, job: inference_pb2.Job) -> int: ...

    def get_params(self, ctx: Context) -> inference_pb2.Params: ...
