"""Do agreeing routes' last hops report the same final hidden states? (pure, integers only)

Routes that agree on an output were fed the same tokens, so their last hops fingerprinted the
same positions of the same final hidden states with the same late probe seed (it derives from
the job and the output hash the chain compares: inference_worker/verify/fingerprint.py;
`compute_late_probe_seed`; for a sealed job the sealed hash, never the plain hash of the tokens,
so the seed confirms no guessed output: `is_sealed_late_seed`, checked at a sealed reveal). Honest replicas therefore reveal
last-hop fingerprints within floating-point noise of each other, while a hop that perturbed
the hidden states without flipping a token leaves its route's final states measurably elsewhere
(VERIFICATION.md, "Divergence"). Settlement audits a job whose agreeing routes diverge, so such
a cheat no longer depends on the random audit draw.

The distance is the worker-side one (`inference_worker.verify.fingerprint.chunk_distances`) in exact
integer arithmetic: per chunk of 32 positions, the RMS over its positions of
``sqrt(|Δ probe codes|^2 x step^2 / P + (ln 2 x Δ log-RMS codes x rms_step)^2)``, where
PROBE_STEP = 1/32, LOG_RMS_STEP = 1/256 and ln 2^2 is taken as 480453 / 10^6. Two fingerprints
diverge when any chunk's distance exceeds the tolerance, or when they cannot be of the same
states (other shape or seed, an all-zero position on one side only), or when either revealed
bundle is malformed: in every such case a verifier has something to look at.

Cost (end-block, once per winning route after the first): a largest pair (6132 positions, the
MAX_FINGERPRINT_BYTES bundle) takes 13 ms on the 2-core dev VM, 7 ms when the replicas are
identical (decoding only); a 200-token job well under 1 ms.

Bytes parsed here are the reveal bundle (inference_worker/verify/reveal.py) and the fingerprint
encoding (inference_worker/verify/fingerprint.py); a change to either format must change both.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from chain.fixed import ONE, Decimal

_BUNDLE = struct.Struct(">4sBBHI")  # magic, version, flags, zero, own fingerprint length
_BUNDLE_MAGIC, _BUNDLE_VERSION = b"IFRV", 3
_FINGERPRINT = struct.Struct(">4sBBBBIIQ")  # magic, version, P, chunk, zero, hidden, n, seed
_FINGERPRINT_MAGIC, _FINGERPRINT_VERSION = b"IFFP", 2  # 2: unclipped projections
_PROBE_SEED_DOMAIN = b"infera.fingerprint.v1\x00"  # a job's public probe seed
_LATE_SEED_DOMAIN = b"infera.fingerprint.late.v1\x00"  # a route's late probe seed
CHUNK = 32
MAX_PROBES = 16
ZERO_RMS_CODE = -32768  # an all-zero position
# Squared distance x SCALE is an integer: probe term x 1024 (1 / PROBE_STEP^2), log-RMS term x
# 65536 (1 / LOG_RMS_STEP^2), ln 2^2 as LN2_SQUARED_MICRO / 10^6, the probe mean over P.
LN2_SQUARED_MICRO = 480_453  # round(ln(2)^2 x 10^6)
_MICRO = 10**6


class MalformedFingerprint(ValueError):
    """Revealed bytes that are not a version-3 bundle holding a version-2 fingerprint."""


@dataclass(frozen=True)
class Codes:
    """A fingerprint's integer codes: what the distance is computed from."""

    probes: int  # P, codes per position
    hidden_size: int
    probe_seed: int
    log_rms: tuple[int, ...]  # per position
    codes: tuple[int, ...]  # positions x P, position-major

    @property
    def positions(self) -> int:
        return len(self.log_rms)


def own_fingerprint(bundle: bytes) -> Codes:
    """The hop's own fingerprint from its revealed bundle; MalformedFingerprint otherwise."""
    if len(bundle) < _BUNDLE.size:
        raise MalformedFingerprint("shorter than a reveal bundle header")
    magic, version, _flags, zero, length = _BUNDLE.unpack_from(bundle)
    if magic != _BUNDLE_MAGIC or version != _BUNDLE_VERSION or zero:
        raise MalformedFingerprint(f"not a version {_BUNDLE_VERSION} reveal bundle")
    if _BUNDLE.size + length > len(bundle):
        raise MalformedFingerprint("own fingerprint runs past the bundle")
    return decode_codes(bundle[_BUNDLE.size : _BUNDLE.size + length])


def decode_codes(data: bytes) -> Codes:
    """Parse the fingerprint encoding (inference_worker/verify/fingerprint.py)."""
    if len(data) < _FINGERPRINT.size:
        raise MalformedFingerprint("shorter than a fingerprint header")
    magic, version, probes, chunk, zero, hidden, n, seed = _FINGERPRINT.unpack_from(data)
    if magic != _FINGERPRINT_MAGIC or version != _FINGERPRINT_VERSION:
        raise MalformedFingerprint(f"not a version {_FINGERPRINT_VERSION} fingerprint")
    if not 1 <= probes <= MAX_PROBES or chunk != CHUNK or zero or hidden < 1 or n < 1:
        raise MalformedFingerprint("bad fingerprint header")
    if len(data) != _FINGERPRINT.size + n * (2 + probes):
        raise MalformedFingerprint("fingerprint length does not match its header")
    log_rms: list[int] = []
    codes: list[int] = []
    offset = _FINGERPRINT.size
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        log_rms.extend(struct.unpack_from(f">{count}h", data, offset))
        offset += 2 * count
        codes.extend(struct.unpack_from(f">{count * probes}b", data, offset))
        offset += count * probes
    if -128 in codes:
        raise MalformedFingerprint("probe code -128 is not canonical")
    return Codes(probes, hidden, seed, tuple(log_rms), tuple(codes))


def compute_late_probe_seed(job_id: int, output_hash: bytes) -> int:
    """The late probe seed of a job's routes with ``output_hash`` (the hash agreement compares):
    the first 8 bytes of sha256("infera.fingerprint.late.v1\0" ‖ u64 job probe seed ‖ output
    hash), the job probe seed being the first 8 bytes of sha256("infera.fingerprint.v1\0" ‖
    u64 job id), big-endian (the worker's derive_probe_seed and derive_late_probe_seed)."""
    job_seed = hashlib.sha256(_PROBE_SEED_DOMAIN + struct.pack(">Q", job_id)).digest()[:8]
    late = hashlib.sha256(_LATE_SEED_DOMAIN + job_seed + output_hash).digest()
    return int.from_bytes(late[:8], "big")


def own_probe_seed(bundle: bytes) -> int:
    """The probe seed in the header of a revealed bundle's own fingerprint, from the two
    headers alone (constant work); MalformedFingerprint when they are not well formed."""
    if len(bundle) < _BUNDLE.size + _FINGERPRINT.size:
        raise MalformedFingerprint("shorter than a reveal bundle and a fingerprint header")
    magic, version, _flags, zero, length = _BUNDLE.unpack_from(bundle)
    if magic != _BUNDLE_MAGIC or version != _BUNDLE_VERSION or zero:
        raise MalformedFingerprint(f"not a version {_BUNDLE_VERSION} reveal bundle")
    if length < _FINGERPRINT.size or _BUNDLE.size + length > len(bundle):
        raise MalformedFingerprint("own fingerprint runs past the bundle")
    fp_magic, fp_version, *_shape, seed = _FINGERPRINT.unpack_from(bundle, _BUNDLE.size)
    if fp_magic != _FINGERPRINT_MAGIC or fp_version != _FINGERPRINT_VERSION:
        raise MalformedFingerprint(f"not a version {_FINGERPRINT_VERSION} fingerprint")
    return int(seed)


def is_sealed_late_seed(bundle: bytes, job_id: int, sealed_output_hash: bytes) -> bool:
    """Whether a sealed job's revealed bundle carries the late seed of its sealed output hash
    (the plain hash's seed would confirm a guessed output to anyone: docs/private-jobs.md)."""
    try:
        return own_probe_seed(bundle) == compute_late_probe_seed(job_id, sealed_output_hash)
    except MalformedFingerprint:
        return False


def diverge(a: bytes, b: bytes, tolerance: Decimal) -> bool:
    """Whether two revealed bundles' own fingerprints differ beyond ``tolerance`` (relative L2
    change of any chunk; module docstring). Malformed bytes on either side diverge."""
    try:
        first, second = own_fingerprint(a), own_fingerprint(b)
    except MalformedFingerprint:
        return True
    shape = (first.probes, first.hidden_size, first.probe_seed, first.positions)
    if shape != (second.probes, second.hidden_size, second.probe_seed, second.positions):
        return True
    if first == second:
        return False  # the common honest case: byte-identical replicas (C-speed comparison)
    probes = first.probes
    # Squared distance x SCALE, SCALE = 1024 x P x 65536 x 10^6 (see the constants above).
    probe_weight = 65_536 * _MICRO
    size_weight = LN2_SQUARED_MICRO * 1024 * probes
    scale = 1024 * probes * 65_536 * _MICRO
    limit = tolerance.raw * tolerance.raw * scale
    for start in range(0, first.positions, CHUNK):
        end = min(start + CHUNK, first.positions)
        rms_a, rms_b = first.log_rms[start:end], second.log_rms[start:end]
        if ZERO_RMS_CODE in rms_a or ZERO_RMS_CODE in rms_b:
            if any(
                (x == ZERO_RMS_CODE) != (y == ZERO_RMS_CODE)
                for x, y in zip(rms_a, rms_b, strict=True)
            ):
                return True  # an all-zero position on one side only
            pairs = [(x, y) for x, y in zip(rms_a, rms_b, strict=True) if x != ZERO_RMS_CODE]
        else:
            pairs = list(zip(rms_a, rms_b, strict=True))
        size = sum((x - y) * (x - y) for x, y in pairs)
        codes_a = first.codes[start * probes : end * probes]
        codes_b = second.codes[start * probes : end * probes]
        direction = sum((x - y) * (x - y) for x, y in zip(codes_a, codes_b, strict=True))
        total = direction * probe_weight + size * size_weight
        # mean over the chunk's positions > tolerance^2, cleared of fractions:
        if total * ONE * ONE > limit * (end - start):
            return True
    return False
