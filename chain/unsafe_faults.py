"""Test-only misbehaviour for real networks (like CometBFT's e2e "misbehaviors").

Installed by ``infera start`` only when the environment variable ``INFERA_UNSAFE_FAULT`` names
one (chain/node.py); never set it on a real node. Each fault is what one byzantine validator can
do with its own keys; the honest validators must reject it without halting.

- ``forge-extended-commit``: when this validator proposes, the injected extended commit holds
  only its own vote, claiming the voting power of the whole set, with verdicts it made up (hop 0
  of route 0 of every open job is a culprit). The block's real LastCommit, built by CometBFT,
  still lists every validator, so the others see the mismatch and reject the proposal.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import chain.pb  # noqa: F401

import nacl.signing
import structlog

from chain import crypto
from chain.vote_extensions import COMMIT_FLAG, extension_sign_bytes
from infera.agreement.v1 import types_pb2 as agreement_pb2
from tendermint.abci import types_pb2 as abci

log = structlog.get_logger("chain.unsafe_faults")

FORGE_EXTENDED_COMMIT = "forge-extended-commit"


def load_validator_signing_key(path: Path) -> nacl.signing.SigningKey:
    """The ed25519 key of CometBFT's priv_validator_key.json (Go keys are seed || public)."""
    private = base64.b64decode(json.loads(path.read_text())["priv_key"]["value"])
    return nacl.signing.SigningKey(private[:32])


class ForgedCommitProposer:
    """Replaces ``app.prepare_proposal`` with one that injects a forged extended commit."""

    def __init__(self, app: Any, key: nacl.signing.SigningKey) -> None:
        self.app = app
        self.key = key
        self.address = crypto.consensus_address(bytes(key.verify_key))
        self.honest_prepare = app.prepare_proposal

    def install(self) -> None:
        self.app.prepare_proposal = self.prepare_proposal

    def prepare_proposal(self, req: abci.RequestPrepareProposal) -> abci.ResponsePrepareProposal:
        forged = abci.RequestPrepareProposal()
        forged.CopyFrom(req)
        if req.local_last_commit.votes:
            forged.local_last_commit.CopyFrom(self.forge(req.local_last_commit, req.height - 1))
            log.warning("UNSAFE fault injection: forged extended commit", height=req.height)
        return self.honest_prepare(forged)

    def forge(self, commit: abci.ExtendedCommitInfo, height: int) -> abci.ExtendedCommitInfo:
        """Only this validator's vote, with the whole set's power and made-up verdicts."""
        extension = self.forged_extension(height)
        out = abci.ExtendedCommitInfo(round=commit.round)
        vote = out.votes.add(block_id_flag=COMMIT_FLAG, vote_extension=extension)
        vote.validator.address = self.address
        vote.validator.power = sum(v.validator.power for v in commit.votes)
        sign_bytes = extension_sign_bytes(self.app.chain_id, height, commit.round, extension)
        vote.extension_signature = self.key.sign(sign_bytes).signature
        return out

    def forged_extension(self, height: int) -> bytes:
        """The agreement handler's extension for verdicts naming hop (0, 0) of each open job."""
        handler = self.app.vote_extensions
        honest_source = getattr(handler, "source", None)
        handler.source = lambda ids: [
            agreement_pb2.Verdict(
                job_id=job_id, culprits=[agreement_pb2.Culprit(route_index=0, hop_index=0)]
            )
            for job_id in ids
        ]
        try:
            return bytes(self.app.extend_vote(abci.RequestExtendVote(height=height)).vote_extension)
        finally:
            handler.source = honest_source
