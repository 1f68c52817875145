"""Light-client checks on real CometBFT data (a recorded 4-validator commit) and on a store proof.

``data/cometbft_h4.json`` was fetched from a real CometBFT v0.38.25 network: if header hashing,
validator-set hashing or the vote sign bytes drifted from CometBFT's, these tests fail.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import chain.pb  # noqa: F401

import nacl.signing
import pytest

from chain.cometbft import (
    BLOCK_ID_FLAG_ABSENT,
    block_from_json,
    block_id_from_json,
    header_hash,
    merkle_root,
    parse_time,
    validator_set_hash,
    validators_from_json,
)
from chain.light import (
    ProvenValue,
    SignedHeader,
    VerificationError,
    signed_header_from_json,
    verify_commit,
    verify_proven,
)
from chain.store.proof import encode_proof
from modules.bank import keys as bank_keys
from tests.harness import TestChain

DATA = json.loads((Path(__file__).parent / "data" / "cometbft_h4.json").read_text())
CHAIN_ID = "infera-it"


def _recorded() -> tuple[SignedHeader, list]:
    signed = signed_header_from_json(copy.deepcopy(DATA["commit"]))
    return signed, validators_from_json(DATA["validators"]["validators"])


def test_header_hash_matches_cometbft_block_id() -> None:
    block = block_from_json(DATA["block"]["block"])
    block_id = block_id_from_json(DATA["block"]["block_id"])
    assert header_hash(block.header) == block_id.hash
    assert len(block.last_commit.signatures) == 4


def test_recorded_commit_verifies_with_more_than_two_thirds() -> None:
    signed, validators = _recorded()
    assert validator_set_hash(validators) == signed.header.validators_hash
    signed_power, total = verify_commit(signed, validators, CHAIN_ID)
    assert signed_power * 3 > total * 2
    assert any(s.block_id_flag == BLOCK_ID_FLAG_ABSENT for s in signed.commit.signatures)


def test_forged_signature_is_rejected() -> None:
    signed, validators = _recorded()
    sig = signed.commit.signatures[0]
    sig.signature = bytes([sig.signature[0] ^ 1]) + sig.signature[1:]
    with pytest.raises(VerificationError, match="invalid signature"):
        verify_commit(signed, validators, CHAIN_ID)


def test_a_signature_moved_to_another_time_is_rejected() -> None:
    signed, validators = _recorded()
    signed.commit.signatures[0].timestamp.nanos += 1
    with pytest.raises(VerificationError, match="invalid signature"):
        verify_commit(signed, validators, CHAIN_ID)


def test_too_little_voting_power_is_rejected() -> None:
    signed, validators = _recorded()
    present = [s for s in signed.commit.signatures if s.block_id_flag != BLOCK_ID_FLAG_ABSENT]
    present[0].block_id_flag = BLOCK_ID_FLAG_ABSENT  # now at most half the power signed
    with pytest.raises(VerificationError, match="voting power signed"):
        verify_commit(signed, validators, CHAIN_ID)


def test_other_chain_other_header_and_other_validators_are_rejected() -> None:
    signed, validators = _recorded()
    with pytest.raises(VerificationError, match="chain"):
        verify_commit(signed, validators, "infera-other")
    tampered = copy.deepcopy(signed)
    tampered.header.app_hash = b"\x01" * 32
    with pytest.raises(VerificationError, match="another block"):
        verify_commit(tampered, validators, CHAIN_ID)
    impostors = copy.deepcopy(validators)
    impostors[0].pub_key.ed25519 = bytes(nacl.signing.SigningKey(b"\x02" * 32).verify_key)
    with pytest.raises(VerificationError, match="validators_hash"):
        verify_commit(signed, impostors, CHAIN_ID)


def test_merkle_root_and_time_parsing_follow_cometbft() -> None:
    # RFC 6962 shape: three leaves split 2 + 1.
    from hashlib import sha256

    leaf = lambda b: sha256(b"\x00" + b).digest()  # noqa: E731
    inner = lambda a, b: sha256(b"\x01" + a + b).digest()  # noqa: E731
    assert merkle_root([]) == sha256(b"").digest()
    assert merkle_root([b"a", b"b", b"c"]) == inner(inner(leaf(b"a"), leaf(b"b")), leaf(b"c"))
    stamp = parse_time("2026-11-23T02:31:58.31666174Z")
    assert (stamp.seconds, stamp.nanos) == (1795401118, 316661740)
    assert parse_time("0001-01-01T00:00:00Z").seconds == -62135596800


# -- the store proof under a signed header -------------------------------------------------------


def _signed_by(keys: list[nacl.signing.SigningKey], app_hash: bytes) -> tuple[SignedHeader, list]:
    """A header carrying ``app_hash`` at height 2, signed by every key (synthetic network)."""
    from chain.cometbft import commit_vote_sign_bytes, validator_address
    from tendermint.crypto import keys_pb2
    from tendermint.types import types_pb2, validator_pb2

    validators = [
        validator_pb2.Validator(
            address=validator_address(bytes(k.verify_key)),
            pub_key=keys_pb2.PublicKey(ed25519=bytes(k.verify_key)),
            voting_power=10,
        )
        for k in keys
    ]
    header = types_pb2.Header(chain_id=CHAIN_ID, height=2, app_hash=app_hash)
    header.version.block = 11
    header.time.seconds = 1_700_000_000
    header.last_block_id.CopyFrom(block_id_from_json({}))
    header.validators_hash = validator_set_hash(validators)
    commit = types_pb2.Commit(height=2)
    commit.block_id.hash = header_hash(header)
    commit.block_id.part_set_header.total = 1
    for validator in validators:
        sig = commit.signatures.add(block_id_flag=2, validator_address=validator.address)
        sig.timestamp.seconds = 1_700_000_001
    for index, key in enumerate(keys):
        message = commit_vote_sign_bytes(CHAIN_ID, commit, index)
        commit.signatures[index].signature = key.sign(message).signature
    return SignedHeader(header, commit), validators


def test_proof_is_checked_against_the_signed_app_hash(tmp_path: Path) -> None:
    chain_ = TestChain(tmp_path / "chain")
    chain_.init()
    chain_.block()
    key = bank_keys.balance_key(chain_.keys[0].address, "uinfera")
    value, proof = chain_.store.prove(key, 1)
    proven = ProvenValue(key=key, value=value, proof=encode_proof(proof), height=1)
    keys = [nacl.signing.SigningKey(bytes([i + 1]) * 32) for i in range(4)]
    signed, validators = _signed_by(keys, chain_.store.root_at(1))
    verified = verify_proven(signed, validators, proven, CHAIN_ID)
    assert verified.value == value and verified.signed_power == 40

    with pytest.raises(VerificationError, match="does not match the signed app hash"):
        verify_proven(signed, validators, ProvenValue(key, b"999", proven.proof, 1), CHAIN_ID)
    with pytest.raises(VerificationError, match="does not match the signed app hash"):
        verify_proven(signed, validators, ProvenValue(key, None, proven.proof, 1), CHAIN_ID)
    with pytest.raises(VerificationError, match="needs header"):
        verify_proven(signed, validators, ProvenValue(key, value, proven.proof, 2), CHAIN_ID)
    with pytest.raises(VerificationError, match="trusted"):
        verify_proven(signed, validators, proven, CHAIN_ID, trusted_validators_hash=b"\0" * 32)
    chain_.store.close()
