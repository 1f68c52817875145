"""Pure beacon rules: the message each validator signs, share checks, aggregation, the value.

BLS12-381 with the proof-of-possession scheme (``py_ecc.bls.G2ProofOfPossession``, the IETF
draft Ethereum uses): public keys in G1 (48 bytes), signatures in G2 (96 bytes). BLS signatures
are unique: for one key and one message there is exactly one valid signature, so a validator
can sign its share or abstain, never pick among values.

Cost (bench/bench_beacon.py, README "Cost"): the py-ecc API re-decompresses and re-validates
every key and signature on every call, so a block cost O(n) subgroup checks. Here each node keeps
process-local caches of the decompressed points (a registered key is validated once, a share is
decompressed once, in VerifyVoteExtension, the hashed message once per height, shared with
signing), so FinalizeBlock does n point additions, one subgroup check and one two-pairing
check. Caches change no result: they hold pure functions of their keys.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_typing import BLSPubkey, BLSSignature
from py_ecc.bls import G2ProofOfPossession as bls
from py_ecc.bls.g2_primitives import (
    G2_to_signature,
    is_inf,
    pubkey_to_G1,
    signature_to_G2,
    subgroup_check,
)
from py_ecc.bls.hash_to_curve import hash_to_G2
from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381 import (
    G1,
    Z1,
    Z2,
    add,
    final_exponentiate,
    multiply,
    neg,
    pairing,
)

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


# Process-local caches of pure functions (bounded; results never depend on them).
@functools.lru_cache(maxsize=16)
def _message_point(message: bytes) -> Any:
    """hash_to_G2 of the message under the signature DST (~130 ms in py-ecc: once per height,
    shared by signing the share and verifying the aggregate)."""
    return hash_to_G2(message, bls.DST, bls.xmd_hash_function)  # type: ignore[arg-type]  # py-ecc annotates the constructor as HASH


@functools.lru_cache(maxsize=1024)
def _pubkey_point(pubkey: bytes) -> Any:
    """The G1 point of a public key after KeyValidate (decompression, not infinity, subgroup),
    or None when it fails. Registered keys passed this at registration; ~12 ms, once."""
    try:
        point = pubkey_to_G1(BLSPubkey(pubkey))
    except Exception:  # py_ecc raises assorted errors on malformed points
        return None
    if is_inf(point) or not subgroup_check(point):
        return None
    return point


@functools.lru_cache(maxsize=4096)
def _share_point(share: bytes) -> Any:
    """The G2 point of a 96-byte share (decompression only, ~7 ms), or None when malformed.
    Subgroup membership is checked on the aggregate (as FastAggregateVerify does)."""
    if len(share) != SHARE_LENGTH:
        return None
    try:
        return signature_to_G2(BLSSignature(share))
    except Exception:
        return None


def compute_share(secret: int, chain_id: str, height: int) -> bytes:
    """The validator's signature over (chain id, height): the same bytes as
    ``bls.Sign(secret, message)`` (hash to G2, multiply by the secret, compress)."""
    return bytes(
        G2_to_signature(multiply(_message_point(compute_message(chain_id, height)), secret))
    )


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
    return _share_point(bytes(share)) is not None


def compute_valid_shares(
    shares: Sequence[Share], message: bytes, points: Mapping[bytes, Any] | None = None
) -> list[Share]:
    """The shares that verify, in their given order. One aggregate check (two pairings) when
    all are good; when it fails, each half is checked the same way (bisection), so one bad
    share among n costs at most 1 + 2 ceil(log2 n) checks instead of n + 1. (A validator whose
    share fails is then ignored for a while: keeper.process_shares.)

    ``points``: share bytes -> their G2 point as ``_share_point`` decompressed them (the node
    hands its decompressions to the beacon worker process, beacon/worker.py); a share missing
    there is decompressed here. The result never depends on them."""
    if not shares:
        return []
    if _verifies(shares, message, points):
        return list(shares)
    if len(shares) == 1:
        return []
    middle = len(shares) // 2  # bisect: b bad shares among n cost <= 1 + 2b log2(n) checks
    return compute_valid_shares(shares[:middle], message, points) + compute_valid_shares(
        shares[middle:], message, points
    )


def _point_of(share: bytes, points: Mapping[bytes, Any] | None) -> Any:
    point = None if points is None else points.get(share)
    return _share_point(share) if point is None else point


def _verifies(
    shares: Sequence[Share], message: bytes, points: Mapping[bytes, Any] | None = None
) -> bool:
    """FastAggregateVerify over cached points: every key valid and every share decompressing,
    the aggregate signature in G2's subgroup, and e(sum sig, G1) = e(H(m), sum pk)."""
    signature, pubkey = Z2, Z1
    for s in shares:
        key_point, share_point = _pubkey_point(s.pubkey), _point_of(s.signature, points)
        if key_point is None or share_point is None:
            return False
        signature, pubkey = add(signature, share_point), add(pubkey, key_point)
    try:  # py_ecc raises on points off the curve; decompressed points are on it, but never raise
        if is_inf(pubkey) or not subgroup_check(signature):
            return False
        check = pairing(signature, G1, final_exponentiate=False) * pairing(
            _message_point(message), neg(pubkey), final_exponentiate=False
        )
        return bool(final_exponentiate(check) == FQ12.one())
    except Exception:
        return False


def compute_outcome(
    shares: Sequence[Share],
    message: bytes,
    total_power: int,
    points: Mapping[bytes, Any] | None = None,
) -> tuple[list[Share], bytes | None]:
    """(the valid shares, the beacon value or None): what FinalizeBlock applies for a height.
    A pure function of its arguments (``points`` only saves decompressions), so it may run in
    another process ahead of time (beacon/worker.py) with the same result as inline."""
    valid = compute_valid_shares(shares, message, points)
    return valid, compute_beacon(valid, total_power, points)


def compute_beacon(
    shares: Sequence[Share], total_power: int, points: Mapping[bytes, Any] | None = None
) -> bytes | None:
    """sha256 of the aggregate of the valid shares, in validator-address order, when they hold
    more than 2/3 of ``total_power``; None otherwise (the height has no beacon)."""
    power = sum(s.power for s in shares)
    if total_power <= 0 or 3 * power <= 2 * total_power:
        return None
    ordered = sorted(shares, key=lambda s: s.validator_address)
    aggregate = Z2
    for s in ordered:  # the same point as bls.Aggregate, from the cached decompressions
        point = _point_of(s.signature, points)
        if point is None:
            raise ValueError("compute_beacon needs well-formed shares")
        aggregate = add(aggregate, point)
    return hashlib.sha256(DOMAIN + bytes(G2_to_signature(aggregate))).digest()
