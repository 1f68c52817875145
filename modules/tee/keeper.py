"""tee keeper: params, attestations by operator, model requirements (get/set only)."""

from __future__ import annotations

from collections.abc import Iterator

import chain.pb  # noqa: F401

from chain.context import Context
from chain.store import prefix_end
from infera.tee.v1 import types_pb2
from modules.tee import keys
from modules.tee.expected import ModelsKeeper, WorkersKeeper
from modules.tee.roots import PINNED, Roots


class TeeKeeper:
    def __init__(self, workers: WorkersKeeper, models: ModelsKeeper, roots: Roots = PINNED) -> None:
        self.workers = workers
        self.models = models
        self.roots = roots  # pinned vendor roots (tests pass others to prove WRONG_ROOT)

    def get_params(self, ctx: Context) -> types_pb2.Params:
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("tee params missing from state")
        return types_pb2.Params.FromString(raw)

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString(deterministic=True))

    def get_attestation(self, ctx: Context, operator: bytes) -> types_pb2.Attestation | None:
        raw = ctx.store.get(keys.attestation_key(operator))
        return None if raw is None else types_pb2.Attestation.FromString(raw)

    def set_attestation(
        self, ctx: Context, operator: bytes, attestation: types_pb2.Attestation
    ) -> None:
        ctx.store.set(
            keys.attestation_key(operator), attestation.SerializeToString(deterministic=True)
        )

    def iterate_attestations(self, ctx: Context) -> Iterator[types_pb2.Attestation]:
        for _, raw in ctx.store.iterate(keys.ATTESTATION, prefix_end(keys.ATTESTATION)):
            yield types_pb2.Attestation.FromString(raw)

    def get_requirement(self, ctx: Context, model_id: str) -> types_pb2.ModelRequirement | None:
        raw = ctx.store.get(keys.requirement_key(model_id))
        return None if raw is None else types_pb2.ModelRequirement.FromString(raw)

    def set_requirement(self, ctx: Context, requirement: types_pb2.ModelRequirement) -> None:
        """Store (or, with no types, delete) a requirement and its measurement index."""
        old = self.get_requirement(ctx, requirement.model_id)
        for measurement in [] if old is None else old.measurements:
            ctx.store.delete(keys.measurement_key(measurement, requirement.model_id))
        key = keys.requirement_key(requirement.model_id)
        if not requirement.tee_types:
            ctx.store.delete(key)
            return
        ctx.store.set(key, requirement.SerializeToString(deterministic=True))
        for measurement in requirement.measurements:
            ctx.store.set(keys.measurement_key(measurement, requirement.model_id), b"")

    def iterate_requirements(self, ctx: Context) -> Iterator[types_pb2.ModelRequirement]:
        for _, raw in ctx.store.iterate(keys.REQUIREMENT, prefix_end(keys.REQUIREMENT)):
            yield types_pb2.ModelRequirement.FromString(raw)

    def has_model_allowing(self, ctx: Context, measurement_hex: str) -> bool:
        """Does some model's own allowlist hold this measurement? (one index seek)"""
        prefix = keys.measurement_prefix(measurement_hex)
        return next(iter(ctx.store.iterate(prefix, prefix_end(prefix))), None) is not None
