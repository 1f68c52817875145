"""Pure beacon rules: the message each validator signs, share checks, aggregation, the value.

BLS12-381 with the proof-of-possession scheme (``py_ecc.bls.G2ProofOfPossession``, the IETF
draft Ethereum uses): public keys in G1 (48 bytes), signatures in G2 (96 bytes). BLS signatures
are unique: for one key and one message there is exactly one valid signature, so a validator
can sign its share or abstain, never pick among values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from eth_typing import BLSPubkey, BLSSignature
from py_ecc.bls import G2ProofOfPossession as bls
from py_ecc.bls.g2_primitives import signature_to_G2

PUBKEY_LENGTH = 48
SHARE_LENGTH = 96
DOMAIN = b"infera/beacon/v1"


@dataclass(frozen=True)
class Share:
    """One validator's signature over the height's message, with what the tally needs."""

    validator_address: bytes  # consensus address (20 bytes)
    power: int
    pubkey: bytes  # its registered G1 key (48 bytes)
    signature: bytes  # G2 (96 bytes)


def compute_message(chain_id: str, height: int) -> bytes:
    """What every validator signs for ``height``: independent of the block's content."""
    encoded = chain_id.encode()
    return DOMAIN + len(encoded).to_bytes(2, "big") + encoded + height.to_bytes(8, "big")


def compute_secret(seed: bytes) -> int:
    """A BLS secret key from node-local key material (e.g. the validator's ed25519 seed)."""
    return int(bls.KeyGen(hashlib.sha256(DOMAIN + b"/keygen" + seed).digest()))


def compute_pubkey(secret: int) -> bytes:
    return bytes(bls.SkToPk(secret))


def compute_share(secret: int, chain_id: str, height: int) -> bytes:
    return bytes(bls.Sign(secret, compute_message(chain_id, height)))


def compute_proof_of_possession(secret: int) -> bytes:
    return bytes(bls.PopProve(secret))


def is_valid_registration(pubkey: bytes, proof: bytes) -> bool:
    """A well-formed G1 key whose owner proved it knows the secret (stops rogue-key sums)."""
    try:
        return len(pubkey) == PUBKEY_LENGTH and bool(
            bls.PopVerify(BLSPubkey(pubkey), BLSSignature(proof))
        )
    except Exception:  # py_ecc raises assorted errors on malformed points
        return False


def is_well_formed_share(share: bytes) -> bool:
    """96 bytes that decompress to a G2 point (about 6 ms; the signature itself is checked
    once per block, aggregated)."""
    if len(share) != SHARE_LENGTH:
        return False
    try:
        signature_to_G2(BLSSignature(share))
    except Exception:
        return False
    return True


def compute_valid_shares(shares: Sequence[Share], message: bytes) -> list[Share]:
    """The shares that verify. One FastAggregateVerify (two pairings) when all are good; only
    when that fails is each share checked alone (a faulty or byzantine signer pays that cost
    once per block in which it appears)."""
    if not shares:
        return []
    aggregate = bls.Aggregate([BLSSignature(s.signature) for s in shares])
    if bls.FastAggregateVerify([BLSPubkey(s.pubkey) for s in shares], message, aggregate):
        return list(shares)
    return [s for s in shares if _verifies(s, message)]


def _verifies(share: Share, message: bytes) -> bool:
    try:
        return bool(bls.Verify(BLSPubkey(share.pubkey), message, BLSSignature(share.signature)))
    except Exception:
        return False


def compute_beacon(shares: Sequence[Share], total_power: int) -> bytes | None:
    """sha256 of the aggregate of the valid shares, in validator-address order, when they hold
    more than 2/3 of ``total_power``; None otherwise (the height has no beacon)."""
    power = sum(s.power for s in shares)
    if total_power <= 0 or 3 * power <= 2 * total_power:
        return None
    ordered = sorted(shares, key=lambda s: s.validator_address)
    aggregate = bls.Aggregate([BLSSignature(s.signature) for s in ordered])
    return hashlib.sha256(DOMAIN + bytes(aggregate)).digest()
