"""Keys, addresses and signatures the Cosmos way.

- Accounts: secp256k1; address = ripemd160(sha256(compressed pubkey)), shown as bech32 with the
  ``infera`` prefix; signatures are 64 bytes ``r || s`` over sha256 of the sign bytes, low-S only.
- Validators: ed25519 consensus keys; consensus address = sha256(pubkey)[:20] (CometBFT's rule).
- Module accounts: address = sha256(module name)[:20] (Cosmos ``authtypes.NewModuleAddress``).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import bech32
import coincurve

from chain.errors import ErrInvalidAddress, ErrInvalidPubKey

ACCOUNT_PREFIX = "infera"
VALOPER_PREFIX = "inferavaloper"
ADDRESS_LENGTH = 20
SECP256K1_PUBKEY_LENGTH = 33
ED25519_PUBKEY_LENGTH = 32
SIGNATURE_LENGTH = 64
MAX_BECH32_LENGTH = 90


def address_from_secp256k1(pubkey: bytes) -> bytes:
    """The 20-byte account address of a compressed secp256k1 public key."""
    if len(pubkey) != SECP256K1_PUBKEY_LENGTH or pubkey[0] not in (2, 3):
        raise ErrInvalidPubKey(
            f"secp256k1 public key must be 33 compressed bytes, got {len(pubkey)}"
        )
    return hashlib.new("ripemd160", hashlib.sha256(pubkey).digest()).digest()


def consensus_address(ed25519_pubkey: bytes) -> bytes:
    """CometBFT's validator address: the first 20 bytes of sha256(ed25519 public key)."""
    return hashlib.sha256(ed25519_pubkey).digest()[:ADDRESS_LENGTH]


def module_address(name: str) -> bytes:
    """The address of a module account (fee collector, bonded pool, escrow...)."""
    return hashlib.sha256(name.encode()).digest()[:ADDRESS_LENGTH]


@lru_cache(maxsize=1 << 16)  # pure function; the reference implementation is slow Python
def to_bech32(address: bytes, prefix: str = ACCOUNT_PREFIX) -> str:
    """Encode raw address bytes as bech32."""
    data = bech32.convertbits(address, 8, 5)
    assert data is not None  # convertbits only fails on out-of-range input, impossible for bytes
    return bech32.bech32_encode(prefix, data)


@lru_cache(maxsize=1 << 16)  # errors are raised, never cached
def from_bech32(text: str, prefix: str = ACCOUNT_PREFIX) -> bytes:
    """Decode a bech32 address with the given prefix; raise ``ErrInvalidAddress`` otherwise."""
    if not isinstance(text, str) or not text or len(text) > MAX_BECH32_LENGTH:
        raise ErrInvalidAddress(f"invalid address {text!r}")
    hrp, data = bech32.bech32_decode(text)
    if hrp is None or data is None:
        raise ErrInvalidAddress(f"invalid bech32 address {text!r}")
    if hrp != prefix:
        raise ErrInvalidAddress(f"address {text!r} has prefix {hrp!r}, expected {prefix!r}")
    raw = bech32.convertbits(data, 5, 8, False)
    if raw is None or len(raw) != ADDRESS_LENGTH:
        raise ErrInvalidAddress(f"address {text!r} must hold {ADDRESS_LENGTH} bytes")
    return bytes(raw)


def verify_secp256k1(pubkey: bytes, message: bytes, signature: bytes) -> bool:
    """Check a 64-byte ``r || s`` signature over sha256(message); high-S signatures fail."""
    if len(signature) != SIGNATURE_LENGTH or len(pubkey) != SECP256K1_PUBKEY_LENGTH:
        return False
    try:
        key = coincurve.PublicKey(pubkey)
        der = coincurve.ecdsa.cdata_to_der(coincurve.ecdsa.deserialize_compact(signature))
    except (ValueError, TypeError):
        return False
    # libsecp256k1 rejects non-normalized (high-S) signatures, which is the Cosmos rule.
    return bool(key.verify(der, message, hasher=lambda m: hashlib.sha256(m).digest()))


def sign_secp256k1(private_key: bytes, message: bytes) -> bytes:
    """Sign sha256(message) with a 32-byte private key; returns 64-byte low-S ``r || s``."""
    key = coincurve.PrivateKey(private_key)
    der = key.sign(message, hasher=lambda m: hashlib.sha256(m).digest())
    return bytes(coincurve.ecdsa.serialize_compact(coincurve.ecdsa.der_to_cdata(der)))
