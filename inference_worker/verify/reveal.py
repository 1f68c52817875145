"""The reveal bundle: the bytes a hop puts in MsgReveal.shard_fingerprint (pure, no I/O).

Version 3 (late fingerprints, VERIFICATION.md; the layout of version 2, with a version-2
fingerprint (unclipped projections) and frames.v2 chain hashes, which bind every received
payload's digest)::

    0   4  magic b"IFRV"
    4   1  version (3)
    5   1  flags: bit 0 = late evidence follows
    6   2  zero
    8   4  L: length of the own fingerprint (u32)
    12  L  the hop's own output fingerprint with the LATE probe seed
           (inference_worker.verify.fingerprint encoding)
    with late evidence (hops > 0: what the hop before signed once the output was known):
        20  signer address   32  the sender's last chain hash   65  late signature
        4   hidden size      1   probes P
        rows: positions x (2 + P) bytes (the rest)

So a hop > 0 reveals 16 bytes a position plus 158 (8 + 8 for own and received rows). Versions
1 (in-band rows with the job's public probe seed) and 2 (clipped fingerprints, a chain hash
that did not bind the payloads) are refused, and so is a bare fingerprint (the format before
bundles). The H_last of the late evidence is the receiver's received-payload digest: the
sender's late signature covers it, so the frames the receiver kept
(`frames.encode_received_frames`) prove exactly what it received.
"""

from __future__ import annotations

import struct

from chain.crypto import ADDRESS_LENGTH
from inference_worker.pipeline.frames import DIGEST_LENGTH, SIGNATURE_LENGTH, LateEvidence
from inference_worker.verify.fingerprint import FingerprintError, decode_fingerprint

REVEAL_MAGIC = b"IFRV"
REVEAL_VERSION = 3
_HEADER = struct.Struct(">4sBBHI")  # magic, version, flags, zero, own fingerprint bytes
_LATE_HEAD = struct.Struct(f">{ADDRESS_LENGTH}s{DIGEST_LENGTH}s{SIGNATURE_LENGTH}sIB")
FLAG_LATE = 0x01


def encode_reveal(own_fingerprint: bytes, late: LateEvidence | None) -> bytes:
    """A hop's revealed bytes (module docstring)."""
    flags = FLAG_LATE if late is not None else 0
    parts = [_HEADER.pack(REVEAL_MAGIC, REVEAL_VERSION, flags, 0, len(own_fingerprint))]
    parts.append(own_fingerprint)
    if late is not None:
        parts.append(
            _LATE_HEAD.pack(
                late.signer, late.chain_hash, late.signature, late.hidden_size, late.probes
            )  # fmt: skip
        )
        parts.append(late.rows)
    return b"".join(parts)


def decode_reveal(data: bytes) -> tuple[bytes, LateEvidence | None]:
    """(own fingerprint bytes, late evidence or None); FingerprintError when malformed or of
    another version."""
    if len(data) < _HEADER.size:
        raise FingerprintError(f"{len(data)} bytes is shorter than a reveal header")
    magic, version, flags, zero, own_length = _HEADER.unpack_from(data)
    if magic != REVEAL_MAGIC or version != REVEAL_VERSION or zero or flags & ~FLAG_LATE:
        raise FingerprintError(
            f"not a version {REVEAL_VERSION} reveal bundle (version {version} is not accepted)"
        )
    offset = _HEADER.size + own_length
    own = data[_HEADER.size : offset]
    decode_fingerprint(own)  # raises on a malformed own fingerprint
    if not flags & FLAG_LATE:
        if offset != len(data):
            raise FingerprintError("trailing bytes after the fingerprint")
        return own, None
    if len(data) < offset + _LATE_HEAD.size:
        raise FingerprintError("truncated late evidence")
    signer, chain_hash, signature, hidden, probes = _LATE_HEAD.unpack_from(data, offset)
    rows = data[offset + _LATE_HEAD.size :]
    if not 1 <= probes <= 16 or hidden < 1 or not rows or len(rows) % (2 + probes):
        raise FingerprintError(f"bad late evidence: hidden {hidden}, probes {probes}")
    return own, LateEvidence(signer, hidden, probes, chain_hash, rows, signature)
