"""What tee lends other modules through the wiring (chain/wiring.py), so none imports tee:

- ``TeeAttestations``: the workers' Worker query shows the worker's current attestation;
- ``TeeJobPolicy``: inference asks it at MsgSubmitJob (a TEE-required model takes only sealed
  jobs) and at MsgSealPrompt (every hop still holds an attestation valid for the model's
  requirement, bound to the encryption key it registers: the key the submitter seals to).
"""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from infera.inference.v1 import types_pb2 as inference_pb2
from infera.tee.v1 import types_pb2
from infera.workers.v1 import query_pb2 as workers_query_pb2
from modules.tee import logic
from modules.tee.errors import ErrPublicJobRefused, ErrSealHopNotAttested, ErrSealKeyMismatch
from modules.tee.expected import WorkersKeeper
from modules.tee.keeper import TeeKeeper


def _block_time_s(ctx: Context) -> int:
    return ctx.block.time_ns // 1_000_000_000


class TeeAttestations:
    """The workers module's ``Attestations``: a worker's attestation, judged at the block."""

    def __init__(self, tee: TeeKeeper) -> None:
        self.tee = tee

    def get_worker_attestation(
        self, ctx: Context, operator: bytes, encryption_pubkey: bytes
    ) -> workers_query_pb2.WorkerAttestation | None:
        found = self.tee.get_attestation(ctx, operator)
        if found is None:
            return None
        return workers_query_pb2.WorkerAttestation(
            tee_type=types_pb2.TeeType.Name(found.tee_type),
            verifier=found.verifier,
            verifier_version=found.verifier_version,
            tcb_status=found.tcb_status,
            measurement=found.measurement,
            epoch=found.epoch,
            height=found.height,
            expires_height=found.expires_height,
            expires_time=found.expires_time,
            valid=logic.is_valid_at(found, ctx.block.height, _block_time_s(ctx)),
            binds_current_key=bytes(found.encryption_pubkey) == encryption_pubkey,
        )


class TeeJobPolicy:
    """The inference module's ``JobPolicy`` for TEE-required models (README "Sealed prompts")."""

    def __init__(self, tee: TeeKeeper, workers: WorkersKeeper) -> None:
        self.tee = tee
        self.workers = workers

    def check_submit(self, ctx: Context, model_id: str, privacy: int) -> None:
        """Only the attested environments may see a TEE-required model's prompts: refuse a
        public job (its prompt would be on chain for everyone)."""
        if privacy == inference_pb2.PRIVACY_MODE_SEALED:
            return
        if self.tee.get_requirement(ctx, model_id) is not None:
            raise ErrPublicJobRefused(f"model {model_id!r} requires TEEs: submit it sealed")

    def check_seal(self, ctx: Context, job: inference_pb2.Job) -> None:
        """Every hop of every route, at this block: an attestation eligible for the model's
        requirement as it stands now, bound to the key the hop registers now. Routing checked
        the same at assignment; this catches an expiry or a re-key in between. A model whose
        requirement was removed since has nothing to hold its hops to."""
        requirement = self.tee.get_requirement(ctx, job.model_id)
        if requirement is None:
            return
        params = self.tee.get_params(ctx)
        for route_index, route in enumerate(job.routes):
            for hop_index, hop in enumerate(route.hops):
                where = f"job {job.id} route {route_index} hop {hop_index} ({hop.worker})"
                self._check_hop(ctx, hop.worker, requirement, params, where)

    def _check_hop(
        self,
        ctx: Context,
        worker_address: str,
        requirement: types_pb2.ModelRequirement,
        params: types_pb2.Params,
        where: str,
    ) -> None:
        operator = crypto.from_bech32(worker_address)
        worker = self.workers.get_worker(ctx, operator)
        attestation = self.tee.get_attestation(ctx, operator)
        if worker is None or attestation is None:
            raise ErrSealHopNotAttested(f"{where}: no worker or no attestation")
        key = bytes(worker.encryption_pubkey)
        if bytes(attestation.encryption_pubkey) != key:
            raise ErrSealKeyMismatch(f"{where}: registered key {key.hex()[:16]}.. not attested")
        eligible = logic.is_eligible(
            attestation,
            encryption_pubkey=key,
            requirement=requirement,
            params=params,
            height=ctx.block.height,
            time_s=_block_time_s(ctx),
        )
        if not eligible:
            raise ErrSealHopNotAttested(
                f"{where}: attestation expired at {attestation.expires_height} or not of an "
                "allowed type and measurement"
            )
