"""zk keeper: verifying keys, model links, proof records, this block's batch (get/set only)."""

from __future__ import annotations

from collections.abc import Iterator

import chain.pb  # noqa: F401

from chain.context import Context
from chain.store import prefix_end
from infera.zk.v1 import types_pb2
from modules.zk import keys
from modules.zk.expected import InferenceKeeper, ModelsKeeper


class ZkKeeper:
    def __init__(self, models: ModelsKeeper, inference: InferenceKeeper) -> None:
        self.models = models
        self.inference = inference

    def get_params(self, ctx: Context) -> types_pb2.Params:
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("zk params missing from state")
        return types_pb2.Params.FromString(raw)

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString(deterministic=True))

    def get_key(self, ctx: Context, key_id: str) -> types_pb2.VerifyingKey | None:
        raw = ctx.store.get(keys.key_key(key_id))
        return None if raw is None else types_pb2.VerifyingKey.FromString(raw)

    def set_key(self, ctx: Context, key: types_pb2.VerifyingKey) -> None:
        ctx.store.set(keys.key_key(key.id), key.SerializeToString(deterministic=True))
        ctx.store.set(keys.model_key(key.model_id), key.id.encode())

    def iterate_keys(self, ctx: Context) -> Iterator[types_pb2.VerifyingKey]:
        for _, raw in ctx.store.iterate(keys.KEY, prefix_end(keys.KEY)):
            yield types_pb2.VerifyingKey.FromString(raw)

    def get_model_key_id(self, ctx: Context, model_id: str) -> str | None:
        raw = ctx.store.get(keys.model_key(model_id))
        return None if raw is None else raw.decode()

    def get_record(self, ctx: Context, job_id: int) -> types_pb2.ProofRecord | None:
        raw = ctx.store.get(keys.proof_key(job_id))
        return None if raw is None else types_pb2.ProofRecord.FromString(raw)

    def set_record(self, ctx: Context, record: types_pb2.ProofRecord) -> None:
        ctx.store.set(keys.proof_key(record.job_id), record.SerializeToString(deterministic=True))

    def add_pending(self, ctx: Context, job_id: int) -> None:
        ctx.store.set(keys.pending_key(job_id), b"")

    def pending_job_ids(self, ctx: Context) -> list[int]:
        """This block's batch in job-id order."""
        found = ctx.store.iterate(keys.PENDING, prefix_end(keys.PENDING))
        return [int.from_bytes(key[-8:], "big") for key, _ in found]

    def clear_pending(self, ctx: Context, job_ids: list[int]) -> None:
        for job_id in job_ids:
            ctx.store.delete(keys.pending_key(job_id))
