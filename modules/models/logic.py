"""Pure models rules: id and field formats, the weights Merkle root, span commitments.

Weights root (the worker computes the same in ``inference_worker/models.py``): the RFC 6962
Merkle tree hash over the per-layer commitments, in layer order, all hashes SHA-256:

    MTH([])  = SHA256(b"")
    MTH([d]) = SHA256(0x00 || d)                                  (a leaf)
    MTH(D)   = SHA256(0x01 || MTH(D[:k]) || MTH(D[k:]))           (k = largest power of two < len(D))

The 0x00/0x01 prefixes separate leaves from inner nodes, so no inner node can pass for a leaf
(the second-preimage weakness of a plain sha256(left || right) tree with a promoted odd node).
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Sequence

import chain.pb  # noqa: F401

from chain.fixed import Decimal
from chain.text import is_printable_ascii
from infera.models.v1 import types_pb2
from modules.models.errors import (
    ErrInvalidBytesPerLayer,
    ErrInvalidCommitment,
    ErrInvalidDtype,
    ErrInvalidLayerCount,
    ErrInvalidModelId,
    ErrInvalidPrice,
    ErrInvalidRedundancy,
    ErrInvalidTokenizerHash,
    ErrInvalidTolerance,
    ErrInvalidZkKeyRef,
    ErrUnknownFamily,
    ErrWeightsRootMismatch,
)

MODEL_ID_RE = re.compile(r"[a-z0-9._-]{1,64}")  # fullmatch: ASCII only, no trailing newline
FAMILIES = ("bert", "gpt2", "llama")
DTYPES = ("bfloat16", "float16", "float32")
HASH_LENGTH = 32  # bytes of every commitment and hash (SHA-256)
MAX_ZK_KEY_REF = 256  # characters


def is_valid_model_id(model_id: str) -> bool:
    return MODEL_ID_RE.fullmatch(model_id) is not None


def is_optional_hash(value: bytes) -> bool:
    """Empty (not given) or exactly one SHA-256 digest."""
    return len(value) in (0, HASH_LENGTH)


def compute_merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash over ``leaves`` (see the module docstring)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    split = 1 << ((len(leaves) - 1).bit_length() - 1)  # largest power of two below len(leaves)
    left, right = compute_merkle_root(leaves[:split]), compute_merkle_root(leaves[split:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def compute_canonical_price(text: str) -> str:
    """The canonical form of a decimal price string ("0.50" -> "0.5"); raises on bad input."""
    try:
        return str(Decimal.parse(text))
    except ValueError:
        raise ErrInvalidPrice(f"price {text!r}") from None


def compute_span_memory(model: types_pb2.Model, start: int, end: int) -> int:
    """Bytes a worker needs to serve layers [start, end) of ``model``."""
    return (end - start) * model.bytes_per_layer


def compute_span_commitment(model: types_pb2.Model, start: int, end: int) -> bytes | None:
    """Commitment to the weights a hop serving [start, end) holds, as the worker computes it
    (``inference_worker.models.span_commitment``); None when the model did not register its
    config hash and embedding/head commitments.

    SHA256(b"infera.span.v1\\x00" || config_hash || u32(num_layers) || u32(start) || u32(end)
    || embed_commitment if start == 0 || layer_commitments[start:end]
    || head_commitment if end == num_layers), integers big-endian.
    """
    if not (model.config_hash and model.embed_commitment and model.head_commitment):
        return None
    parts = [model.config_hash, struct.pack(">III", model.num_layers, start, end)]
    if start == 0:
        parts.append(model.embed_commitment)
    parts.extend(model.layer_commitments[start:end])
    if end == model.num_layers:
        parts.append(model.head_commitment)
    return hashlib.sha256(b"infera.span.v1\x00" + b"".join(parts)).digest()


def validate_model(model: types_pb2.Model, params: types_pb2.Params) -> None:
    """Raise the typed error of the first rule ``model`` breaks (registration and genesis)."""
    if not is_valid_model_id(model.id):
        raise ErrInvalidModelId(f"model id {model.id!r}")
    if model.family not in FAMILIES:
        raise ErrUnknownFamily(f"family {model.family!r}, expected one of {', '.join(FAMILIES)}")
    if not 1 <= model.num_layers <= params.max_layers:
        raise ErrInvalidLayerCount(f"{model.num_layers} layers, expected 1..{params.max_layers}")
    _validate_commitments(model)
    if model.bytes_per_layer <= 0:
        raise ErrInvalidBytesPerLayer(f"got {model.bytes_per_layer}")
    if len(model.tokenizer_hash) != HASH_LENGTH:
        raise ErrInvalidTokenizerHash(f"got {len(model.tokenizer_hash)} bytes")
    if model.dtype not in DTYPES:
        raise ErrInvalidDtype(f"dtype {model.dtype!r}")
    validate_precision_classes(model.precision_classes)
    validate_verifier_tolerances(model.verifier_tolerances, compute_precision_classes(model))
    compute_canonical_price(model.price_per_token)
    validate_min_redundancy(model.min_redundancy, params)
    if len(model.zk_verifying_key_ref) > MAX_ZK_KEY_REF or not is_printable_ascii(
        model.zk_verifying_key_ref
    ):
        raise ErrInvalidZkKeyRef(f"{len(model.zk_verifying_key_ref)} characters")


def validate_precision_classes(classes: Sequence[str]) -> None:
    """Each class a known dtype, none twice (empty is allowed: it means [dtype])."""
    for name in classes:
        if name not in DTYPES:
            raise ErrInvalidDtype(f"precision class {name!r}")
    if len(set(classes)) != len(classes):
        raise ErrInvalidDtype(f"precision classes repeat: {', '.join(classes)}")


MAX_TOLERANCE_PPM = 1_000_000  # a relative L2 change of 1.0 (the whole vector)


def validate_verifier_tolerances(
    tolerances: Sequence[types_pb2.ClassTolerance], classes: Sequence[str]
) -> None:
    """Each calibrated tolerance names one of the model's precision classes, at most once, with
    1 <= noise_ppm <= fingerprint_ppm <= MAX_TOLERANCE_PPM (empty: the class defaults)."""
    seen: set[str] = set()
    for tolerance in tolerances:
        if tolerance.dtype not in classes or tolerance.dtype in seen:
            raise ErrInvalidTolerance(f"tolerance for {tolerance.dtype!r}: not a class, or twice")
        seen.add(tolerance.dtype)
        if not 1 <= tolerance.noise_ppm <= tolerance.fingerprint_ppm <= MAX_TOLERANCE_PPM:
            raise ErrInvalidTolerance(
                f"{tolerance.dtype}: noise {tolerance.noise_ppm} ppm, "
                f"fingerprint {tolerance.fingerprint_ppm} ppm"
            )


def compute_verifier_tolerance(
    model: types_pb2.Model, dtype: str
) -> types_pb2.ClassTolerance | None:
    """The model's calibrated tolerance for precision class ``dtype``, None when it has none."""
    for tolerance in model.verifier_tolerances:
        if tolerance.dtype == dtype:
            return tolerance
    return None


def compute_precision_classes(model: types_pb2.Model) -> list[str]:
    """The dtypes the model's jobs may run in, in the owner's order ([dtype] when unset)."""
    return list(model.precision_classes) or [model.dtype]


def validate_min_redundancy(min_redundancy: int, params: types_pb2.Params) -> None:
    if not 1 <= min_redundancy <= params.max_min_redundancy:
        raise ErrInvalidRedundancy(
            f"min redundancy {min_redundancy}, expected 1..{params.max_min_redundancy}"
        )


def _validate_commitments(model: types_pb2.Model) -> None:
    if len(model.layer_commitments) != model.num_layers:
        raise ErrInvalidCommitment(
            f"{len(model.layer_commitments)} layer commitments for {model.num_layers} layers"
        )
    for index, commitment in enumerate(model.layer_commitments):
        if len(commitment) != HASH_LENGTH:
            raise ErrInvalidCommitment(f"layer {index} commitment has {len(commitment)} bytes")
    for name in ("config_hash", "embed_commitment", "head_commitment"):
        if not is_optional_hash(getattr(model, name)):
            raise ErrInvalidCommitment(f"{name} must be empty or {HASH_LENGTH} bytes")
    expected = compute_merkle_root(list(model.layer_commitments))
    if model.weights_root != expected:
        raise ErrWeightsRootMismatch(f"got {model.weights_root.hex()}, computed {expected.hex()}")
