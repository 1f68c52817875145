"""tee genesis: params (validated against the chain id), attestations, model requirements."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain import crypto
from chain.context import Context
from infera.tee.v1 import genesis_pb2
from modules.tee import logic
from modules.tee.keeper import TeeKeeper
from modules.tee.params import MAX_MEASUREMENTS, default_params, validate_params


def init_genesis(ctx: Context, keeper: TeeKeeper, data: dict[str, Any]) -> None:
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState())
    params = genesis.params if genesis.HasField("params") else default_params()
    validate_params(params, ctx.block.chain_id)
    keeper.set_params(ctx, params)
    for requirement in sorted(genesis.requirements, key=lambda r: r.model_id):
        types, measurements = list(requirement.tee_types), list(requirement.measurements)
        if not types or not logic.is_valid_type_list(types, list(params.allowed_types)):
            raise ValueError(f"genesis tee requirement {requirement.model_id!r}: bad tee_types")
        if not logic.is_valid_measurement_list(measurements, MAX_MEASUREMENTS):
            raise ValueError(f"genesis tee requirement {requirement.model_id!r}: bad measurements")
        keeper.set_requirement(ctx, requirement)
    for attestation in sorted(genesis.attestations, key=lambda a: a.operator):
        if attestation.tee_type not in params.allowed_types:
            raise ValueError(f"genesis tee attestation {attestation.operator!r}: type not allowed")
        keeper.set_attestation(ctx, crypto.from_bech32(attestation.operator), attestation)


def export_genesis(ctx: Context, keeper: TeeKeeper) -> dict[str, Any]:
    genesis = genesis_pb2.GenesisState(
        params=keeper.get_params(ctx),
        attestations=list(keeper.iterate_attestations(ctx)),
        requirements=list(keeper.iterate_requirements(ctx)),
    )
    return json_format.MessageToDict(genesis, preserving_proto_field_name=True)
