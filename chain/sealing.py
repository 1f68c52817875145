"""Sealed jobs: the prompt encrypted to a route's hops, the output to the submitter.

Used by the client (sealing), the worker (opening) and the chain (sizes and the sealed output
hash; the chain never opens anything). Pure functions; every failure is a ``SealingError``, so
random bytes given to any ``open_*`` or ``decode_*`` function never raise anything else.

Encryption: ephemeral-static X25519, HKDF-SHA256, ChaCha20-Poly1305 (all from
``cryptography``). A box is ``enc (32 bytes: the ephemeral public key) ‖ ciphertext ‖ tag
(16)``; its key is ``HKDF-SHA256(X25519(ephemeral, recipient), salt = enc ‖ recipient key,
info = "infera.seal.v1.key" ‖ seal_info(place))``, nonce zero (one message per key), and the
same ``seal_info`` is the AEAD's associated data. ``seal_info(Place)`` = domain, purpose, chain
id, job id, route and hop, so a box copied to another job, route, hop, chain or purpose does not
open. A hop's box has a **derived** ephemeral key (``seal_for_hop``: HKDF of the job key, the
place and the plaintext's sha256), so whoever learns the job key and the plaintext can rebuild
the box byte for byte (``is_rebuilt_box``): that is how a hop's claim "my box does not open" is
settled on disclosure. Output boxes, sealed by workers, use a random ephemeral key.

Job secrets. The submitter draws one 32-byte ``job_key`` per job and keeps it. Everything else
is derived from it with HKDF-SHA256 (``JobSecrets``):

- ``output_key``: shared with every hop of every route (inside their sealed boxes); keys the
  output commitment ``keyed_output_hash = HMAC-SHA256(output_key, canonical output)``, so an
  observer cannot confirm a guessed output by hashing it, while routes that computed the same
  output still reveal the same hash (agreement compares them);
- ``reply`` X25519 key pair: the public half goes on chain with the job; first hops seal the
  output tokens to it;
- ``prompt_commitment = HMAC-SHA256(prompt commitment key, prompt)``: stored on chain, opened
  only when the submitter discloses the job (then the chain checks it).

Disclosing ``job_key`` therefore opens the whole job (prompt, output key, sealed outputs) and
nothing about any other job. docs/private-jobs.md is the design.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32  # X25519 keys, job keys, output keys, hashes
ENC_BYTES = 32  # the ephemeral X25519 public key
TAG_BYTES = 16  # ChaCha20-Poly1305 tag
BOX_OVERHEAD = ENC_BYTES + TAG_BYTES
MAX_CHAIN_ID_BYTES = 64
PROMPT_PAYLOAD = 0x01  # first hop: output key, prompt
KEY_PAYLOAD = 0x02  # other hops: output key only
OUTPUT_PAYLOAD = 0x03  # the output tokens, to the submitter
PROMPT_HEADER = struct.Struct(">B32sI")  # kind, output key, prompt length (then prompt, padding)
KEY_PAYLOAD_BYTES = 1 + KEY_BYTES
KEY_BOX_BYTES = BOX_OVERHEAD + KEY_PAYLOAD_BYTES  # what a non-first hop's box weighs
MAX_OUTPUT_TOKENS = 1 << 20

SEAL_DOMAIN = b"infera.seal.v1\x00"
SEALED_OUTPUT_DOMAIN = b"infera.output.sealed.v1\x00"
OUTPUT_DOMAIN = b"infera.output.v1\x00"  # the chain's canonical output (agreement README)
KIND_TOKENS = b"\x01"

PURPOSE_PROMPT = "prompt"  # a first hop's box
PURPOSE_KEY = "key"  # a later hop's box
PURPOSE_OUTPUT = "output"  # a route's output, to the submitter
PURPOSES = (PURPOSE_PROMPT, PURPOSE_KEY, PURPOSE_OUTPUT)

_NONCE = bytes(12)  # every box has its own key (fresh or derived ephemeral): one message each


class SealingError(ValueError):
    """A box that does not open (wrong key, wrong place, tampered) or a malformed payload."""


@dataclass(frozen=True)
class Place:
    """Where a box belongs; bound into it (key derivation and associated data). Output boxes
    use hop 0."""

    chain_id: str
    job_id: int
    route: int
    hop: int
    purpose: str


def seal_info(place: Place) -> bytes:
    """The context bound into a box: domain ‖ purpose ‖ 0 ‖ u8 len(chain id) ‖ chain id ‖ u64 job ‖
    u32 route ‖ u32 hop."""
    chain_id = place.chain_id.encode("ascii", "replace")
    if place.purpose not in PURPOSES:
        raise SealingError(f"unknown purpose {place.purpose!r}")
    if not 0 < len(chain_id) <= MAX_CHAIN_ID_BYTES:
        raise SealingError("chain id must be 1..64 ASCII bytes")
    if not (
        0 <= place.job_id < 1 << 64 and 0 <= place.route < 1 << 32 and 0 <= place.hop < 1 << 32
    ):
        raise SealingError("job id, route or hop out of range")
    return (
        SEAL_DOMAIN
        + place.purpose.encode()
        + b"\x00"
        + bytes([len(chain_id)])
        + chain_id
        + struct.pack(">QII", place.job_id, place.route, place.hop)
    )


def seal(
    recipient_pubkey: bytes, plaintext: bytes, place: Place, *, ephemeral: bytes | None = None
) -> bytes:
    """A box only the holder of ``recipient_pubkey``'s private key opens, at ``place``;
    ``ephemeral`` (a raw X25519 private key) makes it deterministic, else it is random."""
    if len(recipient_pubkey) != KEY_BYTES:
        raise SealingError(f"an X25519 public key is 32 bytes, got {len(recipient_pubkey)}")
    info = seal_info(place)
    private = X25519PrivateKey.from_private_bytes(ephemeral or generate_private_key())
    enc = private.public_key().public_bytes_raw()
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(recipient_pubkey))
    except ValueError as err:  # a low-order recipient key: all-zero shared secret
        raise SealingError("the recipient key is not usable") from err
    key = _box_key(shared, enc, recipient_pubkey, info)
    return enc + ChaCha20Poly1305(key).encrypt(_NONCE, plaintext, info)


def open_box(recipient_private: bytes, box: bytes, place: Place) -> bytes:
    """The plaintext of ``box``; SealingError when it does not open (any reason)."""
    if len(recipient_private) != KEY_BYTES:
        raise SealingError("an X25519 private key is 32 bytes")
    if len(box) < BOX_OVERHEAD:
        raise SealingError(f"a box is at least {BOX_OVERHEAD} bytes, got {len(box)}")
    info = seal_info(place)
    private = X25519PrivateKey.from_private_bytes(recipient_private)
    enc, sealed = box[:ENC_BYTES], box[ENC_BYTES:]
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(enc))
        key = _box_key(shared, enc, private.public_key().public_bytes_raw(), info)
        return ChaCha20Poly1305(key).decrypt(_NONCE, sealed, info)
    except (InvalidTag, ValueError) as err:  # ValueError: a low-order enc
        raise SealingError("the box does not open here with this key") from err


def _box_key(shared: bytes, enc: bytes, recipient_pubkey: bytes, info: bytes) -> bytes:
    return HKDF(
        hashes.SHA256(), KEY_BYTES, salt=enc + recipient_pubkey, info=b"infera.seal.v1.key" + info
    ).derive(shared)


def seal_for_hop(
    secrets: JobSecrets, recipient_pubkey: bytes, plaintext: bytes, place: Place
) -> bytes:
    """A hop's box, deterministic in (job key, recipient, plaintext, place): rebuildable."""
    return seal(
        recipient_pubkey, plaintext, place, ephemeral=_hop_ephemeral(secrets, plaintext, place)
    )


def is_rebuilt_box(
    secrets: JobSecrets, recipient_pubkey: bytes, plaintext: bytes, place: Place, box: bytes
) -> bool:
    """Whether ``box`` is exactly the hop box the job key seals for this plaintext and place
    (then it opens for the recipient); False for anything else, never an exception."""
    try:
        return seal_for_hop(secrets, recipient_pubkey, plaintext, place) == box
    except SealingError:
        return False


def _hop_ephemeral(secrets: JobSecrets, plaintext: bytes, place: Place) -> bytes:
    label = b"ephemeral.v1" + seal_info(place) + hashlib.sha256(plaintext).digest()
    return _derive(secrets.job_key, label)


def public_key(private: bytes) -> bytes:
    """The X25519 public key (32 bytes) of a raw 32-byte private key."""
    if len(private) != KEY_BYTES:
        raise SealingError("an X25519 private key is 32 bytes")
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def generate_private_key() -> bytes:
    """A fresh raw X25519 private key (32 bytes)."""
    return X25519PrivateKey.generate().private_bytes_raw()


def _derive(job_key: bytes, label: bytes) -> bytes:
    return HKDF(hashes.SHA256(), KEY_BYTES, salt=None, info=b"infera.sealed." + label).derive(
        job_key
    )


@dataclass(frozen=True)
class JobSecrets:
    """Everything a sealed job's submitter derives from its one secret ``job_key``."""

    job_key: bytes

    def __post_init__(self) -> None:
        if len(self.job_key) != KEY_BYTES:
            raise SealingError("a job key is 32 bytes")

    @cached_property
    def output_key(self) -> bytes:
        return _derive(self.job_key, b"output-key.v1")

    @cached_property
    def reply_private(self) -> bytes:
        return _derive(self.job_key, b"reply.v1")

    @cached_property
    def reply_pubkey(self) -> bytes:
        return public_key(self.reply_private)

    def prompt_commitment(self, prompt: bytes) -> bytes:
        return compute_prompt_commitment(_derive(self.job_key, b"prompt-commit.v1"), prompt)


def compute_prompt_commitment(key: bytes, prompt: bytes) -> bytes:
    """HMAC-SHA256(key, prompt): hiding without the key, binding with it."""
    return hmac.new(key, prompt, hashlib.sha256).digest()


# --- payloads ----------------------------------------------------------------------------------


def encode_prompt_payload(output_key: bytes, prompt: bytes, padded_bytes: int) -> bytes:
    """A first hop's plaintext: kind ‖ output key ‖ u32 len(prompt) ‖ prompt ‖ zeros up to
    ``padded_bytes`` of prompt room (what the chain prices; hides the exact length)."""
    if len(output_key) != KEY_BYTES:
        raise SealingError("an output key is 32 bytes")
    if len(prompt) > padded_bytes:
        raise SealingError(f"prompt of {len(prompt)} bytes does not fit {padded_bytes}")
    header = PROMPT_HEADER.pack(PROMPT_PAYLOAD, output_key, len(prompt))
    return header + prompt + bytes(padded_bytes - len(prompt))


def decode_prompt_payload(payload: bytes) -> tuple[bytes, bytes]:
    """(output key, prompt) of a first hop's plaintext."""
    if len(payload) < PROMPT_HEADER.size or payload[0] != PROMPT_PAYLOAD:
        raise SealingError("not a prompt payload")
    _, output_key, length = PROMPT_HEADER.unpack_from(payload)
    rest = payload[PROMPT_HEADER.size :]
    if length > len(rest) or any(rest[length:]):
        raise SealingError("prompt length or padding does not match")
    return output_key, rest[:length]


def prompt_box_bytes(padded_bytes: int) -> int:
    """Exact size of a first hop's box for ``padded_bytes`` of prompt room (the chain checks)."""
    return BOX_OVERHEAD + PROMPT_HEADER.size + padded_bytes


def encode_key_payload(output_key: bytes) -> bytes:
    """A later hop's plaintext: kind ‖ output key."""
    if len(output_key) != KEY_BYTES:
        raise SealingError("an output key is 32 bytes")
    return bytes([KEY_PAYLOAD]) + output_key


def decode_key_payload(payload: bytes) -> bytes:
    if len(payload) != KEY_PAYLOAD_BYTES or payload[0] != KEY_PAYLOAD:
        raise SealingError("not a key payload")
    return payload[1:]


def encode_output_payload(tokens: Sequence[int]) -> bytes:
    """The submitter's plaintext: kind ‖ each token id as 4 big-endian bytes."""
    if len(tokens) > MAX_OUTPUT_TOKENS or any(not 0 <= int(t) < 1 << 32 for t in tokens):
        raise SealingError("token ids must be 0..2^32-1, at most 2^20 of them")
    return bytes([OUTPUT_PAYLOAD]) + b"".join(int(t).to_bytes(4, "big") for t in tokens)


def output_box_bytes(token_count: int) -> int:
    """Exact size of a sealed output of ``token_count`` tokens (the chain checks)."""
    return BOX_OVERHEAD + 1 + 4 * token_count


def decode_output_payload(payload: bytes) -> tuple[int, ...]:
    if not payload or payload[0] != OUTPUT_PAYLOAD or (len(payload) - 1) % 4:
        raise SealingError("not an output payload")
    body = payload[1:]
    return tuple(int.from_bytes(body[i : i + 4], "big") for i in range(0, len(body), 4))


# --- output commitments (the chain recomputes compute_sealed_output_hash) ----------------------


def compute_keyed_output_hash(output_key: bytes, tokens: Sequence[int]) -> bytes:
    """HMAC-SHA256(output_key, the canonical output of ``tokens``): what a sealed hop reveals."""
    if len(output_key) != KEY_BYTES:
        raise SealingError("an output key is 32 bytes")
    payload = b"".join(int(t).to_bytes(4, "big") for t in tokens)
    return hmac.new(output_key, OUTPUT_DOMAIN + KIND_TOKENS + payload, hashlib.sha256).digest()


def compute_sealed_output_hash(keyed_output_hash: bytes, token_count: int) -> bytes:
    """The output hash agreement compares for a sealed job: sha256(domain ‖ u32 token count ‖
    keyed output hash). Routes agree only on the same output (same key, same tokens); the count
    is public (it is billed)."""
    return hashlib.sha256(
        SEALED_OUTPUT_DOMAIN + struct.pack(">I", token_count) + keyed_output_hash
    ).digest()
