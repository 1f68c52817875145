"""agreement genesis: params and every record (commitments, reveals, outputs, disputes, votes,
settlements, audits with their held payments, open verifications) plus the pending schedule
(rounds and verdict windows); the submitters' open-verification counts are rebuilt from the open
verifications. The bank genesis must give the audit hold account exactly what the audits hold."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain import crypto
from chain.context import Context
from infera.agreement.v1 import genesis_pb2, types_pb2
from modules.agreement import invariants, keys
from modules.agreement.keeper import AgreementKeeper
from modules.agreement.params import default_params, validate_params


def init_genesis(ctx: Context, keeper: AgreementKeeper, data: dict[str, Any]) -> None:
    # Parsed over the defaults: fields the genesis leaves out keep them, fields it sets (0
    # included, e.g. commit_milli_blocks_per_token = 0 for fixed windows) replace them.
    genesis = json_format.ParseDict(data, genesis_pb2.GenesisState(params=default_params()))
    params = genesis.params
    validate_params(params)
    keeper.set_params(ctx, params)
    for commitment in genesis.commitments:
        keeper.set_commitment(ctx, commitment)
    for reveal in genesis.reveals:
        keeper.set_reveal(ctx, reveal)
    for entry in genesis.outputs:
        keeper.set_output(ctx, entry.job_id, entry.output)
    for dispute in genesis.disputes:
        keeper.set_dispute(ctx, dispute)
    for vote in genesis.votes:
        keeper.set_vote(ctx, bytes.fromhex(vote.validator), vote)
    for audit in genesis.audits:
        keeper.set_audit(ctx, audit)
    for settlement in genesis.settlements:
        keeper.set_settlement(ctx, settlement)
    for round_ in genesis.schedule:
        keeper.schedule(ctx, round_.job_id, round_.height)
    for verification in genesis.verifications:
        keeper.set_verification(ctx, verification)
        submitter = crypto.from_bech32(verification.submitter)
        keeper.set_open_count(ctx, submitter, keeper.get_open_count(ctx, submitter) + 1)
    problem = invariants.check_audit_hold(ctx, keeper)
    if problem:
        raise ValueError(f"agreement genesis: {problem}")


def export_genesis(ctx: Context, keeper: AgreementKeeper) -> dict[str, Any]:
    genesis = genesis_pb2.GenesisState(
        params=keeper.get_params(ctx),
        commitments=list(keeper.iterate_all(ctx, keys.COMMITMENT, types_pb2.Commitment)),
        reveals=list(keeper.iterate_all(ctx, keys.REVEAL, types_pb2.Reveal)),
        outputs=[
            genesis_pb2.JobOutput(job_id=job_id, output=output)
            for job_id, output in keeper.iterate_all_outputs(ctx)
        ],
        disputes=list(keeper.iterate_all(ctx, keys.DISPUTE, types_pb2.Dispute)),
        votes=list(keeper.iterate_all(ctx, keys.VOTE, types_pb2.DisputeVote)),
        settlements=list(keeper.iterate_all(ctx, keys.SETTLEMENT, types_pb2.Settlement)),
        audits=list(keeper.iterate_audits(ctx)),
        verifications=list(keeper.iterate_verifications(ctx)),
        schedule=[
            genesis_pb2.ScheduledRound(height=height, job_id=job_id)
            for height, job_id in keeper.iterate_schedule(ctx)
        ],
    )
    exported = json_format.MessageToDict(genesis, preserving_proto_field_name=True)
    # Every param, zeros included: a param left out would come back as its default on import.
    exported["params"] = json_format.MessageToDict(
        genesis.params, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return exported
