"""Signed fingerprint rows on every hidden-state frame, and the evidence a receiver keeps of them.

Why: a hop's own fingerprint is only what it SAYS it sent. A hop that sends perturbed states
but fingerprints honest ones would make the next, honest hop look guilty. So every frame a hop
sends downstream carries (pipeline.proto `HiddenStates.fingerprint_rows` / `signature`):

* the fingerprint rows of the frame's positions, computed on exactly what the receiver decodes
  (the states after the wire codec round trip), and
* the sender's recoverable secp256k1 signature over a running hash of every frame it sent in
  the session, with its chain (worker) key.

The receiver recomputes the rows from the payload it decoded and refuses a frame whose signed
rows differ by more than one quantization step (`RowMismatch`), whose signature is missing (when
required), invalid, or recovers to another address than the route's sending worker. What it
accepted it keeps as `InputEvidence` and reveals with its own fingerprint (`encode_reveal`).
A validator then holds, for hop k, a fingerprint of hop k's output that hop k itself signed and
hop k+1 could not forge (`verify_evidence`); VERIFICATION.md has the attribution rules.

The chain, per frame i of one session (all integers big-endian)::

    H_{-1} = 32 zero bytes
    H_i    = sha256(b"infera.frames.v1\\x00chain" || H_{i-1} || u64 job id || u32 route index
                    || u32 sender hop || u32 frame seq i || u32 positions n_i || u32 hidden size
                    || u8 probes P || rows_i)
    sig_i  = sign(sha256(b"infera.frames.v1\\x00sign" || H_i || sha256(payload_i)))

rows_i is n_i x (2 + P) bytes, position-major: the int16 log-RMS code, then P int8 probe codes
(inference_worker.fingerprint). Signing each frame over the payload digest binds the rows to
the exact bytes sent (a receiver holding one frame can show what it was sent); the chain hash
binds every earlier frame's rows, so the LAST signature alone vouches for all of them: the
evidence a hop reveals needs the rows, the frame lengths, the last payload digest and the last
signature, not every payload digest (32 bytes a position would be 4x the rows).

Pure compute and crypto, no I/O.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from enum import StrEnum

import coincurve
import numpy as np
import torch

from chain.crypto import ADDRESS_LENGTH, address_from_secp256k1, from_bech32
from inference_worker.codec import decode, encode
from inference_worker.fingerprint import (
    PROBES,
    Fingerprint,
    FingerprintError,
    compute_fingerprint,
    decode_fingerprint,
)

CHAIN_DOMAIN = b"infera.frames.v1\x00chain"
SIGN_DOMAIN = b"infera.frames.v1\x00sign"
GENESIS = bytes(32)  # H_{-1}
SIGNATURE_LENGTH = 65  # r || s || recovery id
DIGEST_LENGTH = 32
ROW_TOLERANCE = 1  # codes: the most a signed row may differ from the receiver's recomputation
_FRAME = struct.Struct(">QIIIIIB")  # job, route, sender hop, seq, positions, hidden, probes


class FrameEvidenceError(ValueError):
    """A frame whose evidence the receiver refuses; `sender_hop` is the hop that sent it."""

    def __init__(self, sender_hop: int, message: str):
        super().__init__(f"hop {sender_hop}'s frame: {message}")
        self.sender_hop = sender_hop


# --- rows and the chain ----------------------------------------------------------------------


def fingerprint_rows(fp: Fingerprint) -> bytes:
    """The canonical rows of a fingerprint: per position, >i2 log-RMS code then P int8 codes."""
    probes = int(fp.probes.shape[1])
    out = np.empty((fp.positions, 2 + probes), dtype=np.uint8)
    out[:, :2] = fp.log_rms.numpy().astype(">i2").view(np.uint8).reshape(-1, 2)
    out[:, 2:] = fp.probes.numpy().view(np.uint8)
    return out.tobytes()


def rows_fingerprint(rows: bytes, *, hidden_size: int, probes: int, probe_seed: int) -> Fingerprint:
    """Parse rows (`fingerprint_rows`) back into a Fingerprint; FingerprintError if malformed."""
    width = 2 + probes
    if not 1 <= probes <= 16 or not rows or len(rows) % width:
        raise FingerprintError(f"{len(rows)} bytes are not rows of {width} bytes")
    table = np.frombuffer(rows, dtype=np.uint8).reshape(-1, width)
    log_rms = table[:, :2].copy().view(">i2")[:, 0].astype(np.int16)
    codes = table[:, 2:].copy().view(np.int8)
    if bool((codes == -128).any()):
        raise FingerprintError("probe code -128 is not canonical")
    return Fingerprint(
        hidden_size=hidden_size,
        probe_seed=probe_seed,
        log_rms=torch.from_numpy(log_rms),
        probes=torch.from_numpy(codes),
    )


@dataclass(frozen=True)
class ChainContext:
    """What every frame hash of one sender in one session binds."""

    job_id: int
    route_index: int
    sender_hop: int  # the route index of the hop that sends (and signs) the frames


def chain_step(
    previous: bytes, context: ChainContext, *, seq: int, hidden_size: int, probes: int, rows: bytes
) -> bytes:
    """H_i from H_{i-1} (module docstring)."""
    positions = len(rows) // (2 + probes)
    head = _FRAME.pack(
        context.job_id, context.route_index, context.sender_hop, seq, positions, hidden_size, probes
    )
    return hashlib.sha256(CHAIN_DOMAIN + previous + head + rows).digest()


def signing_digest(chain_hash: bytes, payload_digest: bytes) -> bytes:
    """What a frame's signature signs: sha256(domain || H_i || sha256(payload_i))."""
    return hashlib.sha256(SIGN_DOMAIN + chain_hash + payload_digest).digest()


# --- keys ------------------------------------------------------------------------------------


class FrameSigner:
    """A worker's chain key, signing its frames (the address the signatures recover to is the
    worker's operator address)."""

    def __init__(self, private_key: bytes):
        if len(private_key) != 32:
            raise ValueError(f"a secp256k1 private key is 32 bytes, got {len(private_key)}")
        self._key = coincurve.PrivateKey(private_key)
        self.address = address_from_secp256k1(self._key.public_key.format(compressed=True))

    def sign(self, digest: bytes) -> bytes:
        """65-byte recoverable signature over a 32-byte digest."""
        return bytes(self._key.sign_recoverable(digest, hasher=None))


def recover_address(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte account address a signature over `digest` recovers to; ValueError if none."""
    if len(signature) != SIGNATURE_LENGTH:
        raise ValueError(f"a signature is {SIGNATURE_LENGTH} bytes, got {len(signature)}")
    try:
        public = coincurve.PublicKey.from_signature_and_message(signature, digest, hasher=None)
    except Exception as err:  # coincurve raises ValueError or its own errors on bad bytes
        raise ValueError(f"the signature recovers no key: {err}") from err
    return address_from_secp256k1(public.format(compressed=True))


def expected_address(worker: str) -> bytes | None:
    """A route hop's worker as 20 address bytes, or None when it is no bech32 account address
    (local pipelines name hops freely; then only the signature chain is checked)."""
    try:
        return from_bech32(worker)
    except Exception:
        return None


# --- the sending side ------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameSeal:
    """What a frame carries besides its payload (empty bytes: an unsigned frame)."""

    rows: bytes = b""
    signature: bytes = b""


class FrameSender:
    """One session's outgoing chain on the sending hop."""

    def __init__(self, context: ChainContext, *, probe_seed: int, signer: FrameSigner | None):
        self.context = context
        self.probe_seed = probe_seed
        self.signer = signer
        self._chain = GENESIS
        self._seq = 0

    def seal(self, received_view: torch.Tensor, payload: bytes) -> FrameSeal:
        """Rows and signature of the next frame. `received_view` (1, n, hidden) is what the
        receiver will decode from `payload` (for an honest sender: decode(payload))."""
        if self.signer is None:
            return FrameSeal()
        fp = compute_fingerprint(received_view, probe_seed=self.probe_seed)
        rows = fingerprint_rows(fp)
        self._chain = chain_step(
            self._chain, self.context, seq=self._seq, hidden_size=fp.hidden_size,
            probes=PROBES, rows=rows,
        )  # fmt: skip
        self._seq += 1
        digest = signing_digest(self._chain, hashlib.sha256(payload).digest())
        return FrameSeal(rows=rows, signature=self.signer.sign(digest))


def seal_frame(
    sender: FrameSender, sent: torch.Tensor, reported: torch.Tensor, codec: str
) -> tuple[bytes, FrameSeal]:
    """(payload, seal) of one outgoing frame: `sent` (1, n, hidden) encoded, sealed with the
    rows of what the receiver decodes from it, or of `reported` through the same codec round
    trip (a lying adversary's honest states)."""
    payload = encode(sent, codec)
    if sender.signer is None:
        return payload, FrameSeal()
    view_of = payload if reported is sent else encode(reported, codec)
    view = decode(view_of, codec, expected_shape=tuple(reported.shape))
    return payload, sender.seal(view, payload)


# --- the receiving side and its evidence -----------------------------------------------------


@dataclass(frozen=True)
class InputEvidence:
    """What a hop received from the hop before it, as that hop signed it: enough for anyone to
    recompute the chain and check the last signature (`verify_evidence`)."""

    signer: bytes  # 20-byte address the signatures recovered to at receipt
    hidden_size: int
    probes: int  # probe codes per position
    frame_lengths: tuple[int, ...]  # positions per frame, in order
    rows: bytes  # every frame's rows, concatenated (sum(frame_lengths) x (2 + probes) bytes)
    last_payload_digest: bytes  # sha256 of the last frame's payload
    signature: bytes  # the last frame's signature

    @property
    def positions(self) -> int:
        return sum(self.frame_lengths)

    def fingerprint(self, probe_seed: int) -> Fingerprint:
        """The signed rows as a fingerprint of the sender's output (with the job's seed)."""
        return rows_fingerprint(
            self.rows, hidden_size=self.hidden_size, probes=self.probes, probe_seed=probe_seed
        )


class FrameReceiver:
    """One session's incoming chain on the receiving hop: checks each frame, keeps evidence."""

    def __init__(
        self,
        context: ChainContext,
        *,
        probe_seed: int,
        expected: bytes | None,
        require_signatures: bool,
        check_rows: bool = True,
    ):
        self.context = context
        self.probe_seed = probe_seed
        self.expected = expected  # sender's address bytes, None when the route does not say
        self.require_signatures = require_signatures
        self.check_rows = check_rows  # False only for simulated colluding receivers
        self._chain = GENESIS
        self._lengths: list[int] = []
        self._rows: list[bytes] = []
        self._signed: bool | None = None  # fixed by the first frame
        self._last: tuple[bytes, bytes] | None = None  # (payload digest, signature)
        self._signer: bytes | None = None
        self._hidden = 0

    def accept(self, decoded: torch.Tensor, payload: bytes, seal: FrameSeal) -> None:
        """Check one frame (decoded: (1, n, hidden), what this hop will compute on); raise
        FrameEvidenceError naming the sender when its evidence is wrong."""
        signed = bool(seal.signature)
        self._check_signed(signed, seal)
        if not signed:
            return
        hidden = int(decoded.shape[-1])
        claimed = self._parse_rows(seal.rows, hidden, int(decoded.shape[1]))
        if self.check_rows:
            mine = compute_fingerprint(decoded, probe_seed=self.probe_seed)
            worst = _worst_code_difference(claimed, mine)
            if worst > ROW_TOLERANCE:
                raise self._error(
                    f"signed fingerprint rows differ from the states its payload decodes to by "
                    f"{worst} quantization steps (at most {ROW_TOLERANCE} allowed): it sent other "
                    "states than it fingerprinted"
                )
        chain = chain_step(
            self._chain, self.context, seq=len(self._lengths), hidden_size=hidden,
            probes=PROBES, rows=seal.rows,
        )  # fmt: skip
        payload_digest = hashlib.sha256(payload).digest()
        try:
            signer = recover_address(signing_digest(chain, payload_digest), seal.signature)
        except ValueError as err:
            raise self._error(f"invalid signature: {err}") from err
        if self._signer is not None and signer != self._signer:
            raise self._error("signed by another key than its earlier frames (out of chain)")
        if self.expected is not None and signer != self.expected:
            raise self._error("signed by another worker than the route's hop")
        self._chain, self._signer, self._hidden = chain, signer, hidden
        self._lengths.append(int(decoded.shape[1]))
        self._rows.append(seal.rows)
        self._last = (payload_digest, seal.signature)

    def _check_signed(self, signed: bool, seal: FrameSeal) -> None:
        if not signed and self.require_signatures:
            raise self._error("unsigned, and this hop requires signed frames")
        if not signed and seal.rows:
            raise self._error("fingerprint rows without a signature")
        if self._signed is not None and signed != self._signed:
            raise self._error("signed and unsigned frames mixed in one session")
        self._signed = signed

    def _parse_rows(self, rows: bytes, hidden: int, positions: int) -> Fingerprint:
        if len(rows) != positions * (2 + PROBES):
            raise self._error(
                f"{len(rows)} bytes of fingerprint rows for {positions} positions, expected "
                f"{positions * (2 + PROBES)}"
            )
        try:
            return rows_fingerprint(
                rows, hidden_size=hidden, probes=PROBES, probe_seed=self.probe_seed
            )
        except FingerprintError as err:
            raise self._error(f"malformed fingerprint rows: {err}") from err

    def _error(self, message: str) -> FrameEvidenceError:
        return FrameEvidenceError(self.context.sender_hop, message)

    def evidence(self) -> InputEvidence | None:
        """Everything accepted so far, or None when the frames were unsigned (or none came)."""
        if not self._signed or self._last is None or self._signer is None:
            return None
        return InputEvidence(
            signer=self._signer,
            hidden_size=self._hidden,
            probes=PROBES,
            frame_lengths=tuple(self._lengths),
            rows=b"".join(self._rows),
            last_payload_digest=self._last[0],
            signature=self._last[1],
        )


def _worst_code_difference(a: Fingerprint, b: Fingerprint) -> int:
    rms = (a.log_rms.int() - b.log_rms.int()).abs().max()
    probes = (a.probes.int() - b.probes.int()).abs().max()
    return int(max(rms, probes))


class EvidenceStatus(StrEnum):
    """What a validator makes of a hop's revealed input evidence (`verify_evidence`)."""

    ABSENT = "absent"  # none revealed (unsigned pipeline, or the first hop)
    VALID = "valid"  # the chain and the last signature check out, signed by the route's hop
    FOREIGN = "foreign"  # internally consistent, but signed by another key than the route's
    # hop (a replaced hop, or a hop that signed something itself): unusable, nobody's fault
    BAD = "bad"  # provably not what an honest receiver keeps: malformed, a signature that does
    # not recover to the signer it names, or not covering the route's positions


def verify_evidence(
    evidence: InputEvidence,
    context: ChainContext,
    *,
    expected: bytes | None,
    positions: int,
) -> tuple[EvidenceStatus, str]:
    """Recompute the chain over the revealed rows and check the last signature.

    `positions` is the number of positions the route ran (prompt + output - 1): an honest
    receiver that finished the session received all of them, so fewer or more is BAD (a
    receiver could otherwise reveal an early frame's signature over a shorter chain)."""
    width = 2 + evidence.probes
    if evidence.positions != positions or len(evidence.rows) != positions * width:
        return EvidenceStatus.BAD, (
            f"covers {evidence.positions} positions ({len(evidence.rows)} row bytes); the route "
            f"ran {positions}"
        )
    if any(n < 1 for n in evidence.frame_lengths):
        return EvidenceStatus.BAD, "an empty frame"
    chain, offset = GENESIS, 0
    for seq, length in enumerate(evidence.frame_lengths):
        rows = evidence.rows[offset : offset + length * width]
        offset += length * width
        chain = chain_step(
            chain, context, seq=seq, hidden_size=evidence.hidden_size,
            probes=evidence.probes, rows=rows,
        )  # fmt: skip
    digest = signing_digest(chain, evidence.last_payload_digest)
    try:
        recovered = recover_address(digest, evidence.signature)
    except ValueError as err:
        return EvidenceStatus.BAD, str(err)
    if recovered != evidence.signer:
        return EvidenceStatus.BAD, "the signature does not cover these rows (tampered chain)"
    if expected is None or recovered != expected:
        return EvidenceStatus.FOREIGN, "signed by another key than the route's hop"
    return EvidenceStatus.VALID, "ok"


# --- the reveal bundle -----------------------------------------------------------------------

REVEAL_MAGIC = b"IFRV"
REVEAL_VERSION = 1
_REVEAL_HEADER = struct.Struct(">4sBBHI")  # magic, version, flags, zero, own fingerprint bytes
_EVIDENCE_HEAD = struct.Struct(f">{ADDRESS_LENGTH}s32s65sIBI")  # signer, digest, sig, hidden,
# probes, runs
_RUN = struct.Struct(">II")  # (frame length, repeat)
FLAG_EVIDENCE = 0x01


def encode_reveal(own_fingerprint: bytes, received: InputEvidence | None) -> bytes:
    """A hop's revealed bytes (MsgReveal.shard_fingerprint)::

        0   4  magic b"IFRV"
        4   1  version (1)
        5   1  flags: bit 0 = input evidence follows
        6   2  zero
        8   4  L: length of the own fingerprint (u32)
        12  L  the hop's own output fingerprint (inference_worker.fingerprint encoding)
        with input evidence:
            20  signer address   32  last payload digest   65  last signature
            4   hidden size      1   probes P              4   R: runs of frame lengths
            R x (u32 frame length, u32 repeat)
            rows: positions x (2 + P) bytes (positions = sum of length x repeat)

    The prompt frame then one-position frames make R = 2 (or 1), so the evidence costs 8 bytes
    a position plus 134 bytes, like the own fingerprint (8 bytes a position plus 24)."""
    flags = FLAG_EVIDENCE if received is not None else 0
    parts = [_REVEAL_HEADER.pack(REVEAL_MAGIC, REVEAL_VERSION, flags, 0, len(own_fingerprint))]
    parts.append(own_fingerprint)
    if received is not None:
        runs = _runs(received.frame_lengths)
        parts.append(
            _EVIDENCE_HEAD.pack(
                received.signer, received.last_payload_digest, received.signature,
                received.hidden_size, received.probes, len(runs),
            )
        )  # fmt: skip
        parts.extend(_RUN.pack(length, repeat) for length, repeat in runs)
        parts.append(received.rows)
    return b"".join(parts)


def decode_reveal(data: bytes) -> tuple[bytes, InputEvidence | None]:
    """(own fingerprint bytes, input evidence or None); FingerprintError when malformed. A bare
    fingerprint (the format revealed before bundles) reads as one without evidence."""
    if data[:4] == b"IFFP":
        return data, None
    if len(data) < _REVEAL_HEADER.size:
        raise FingerprintError(f"{len(data)} bytes is shorter than a reveal header")
    magic, version, flags, zero, own_length = _REVEAL_HEADER.unpack_from(data)
    if magic != REVEAL_MAGIC or version != REVEAL_VERSION or zero or flags & ~FLAG_EVIDENCE:
        raise FingerprintError("not a version 1 reveal bundle")
    offset = _REVEAL_HEADER.size + own_length
    own = data[_REVEAL_HEADER.size : offset]
    decode_fingerprint(own)  # raises on a malformed own fingerprint
    if not flags & FLAG_EVIDENCE:
        if offset != len(data):
            raise FingerprintError("trailing bytes after the fingerprint")
        return own, None
    if len(data) < offset + _EVIDENCE_HEAD.size:
        raise FingerprintError("truncated input evidence")
    signer, digest, signature, hidden, probes, runs = _EVIDENCE_HEAD.unpack_from(data, offset)
    offset += _EVIDENCE_HEAD.size
    if not 1 <= probes <= 16 or hidden < 1 or len(data) < offset + runs * _RUN.size:
        raise FingerprintError(f"bad evidence header: hidden {hidden}, probes {probes}")
    lengths: list[int] = []
    for _ in range(runs):
        length, repeat = _RUN.unpack_from(data, offset)
        offset += _RUN.size
        if length < 1 or repeat < 1 or len(lengths) + repeat > len(data):
            raise FingerprintError(f"bad frame run ({length}, {repeat})")
        lengths.extend([length] * repeat)
    rows = data[offset:]
    if not lengths or len(rows) != sum(lengths) * (2 + probes):
        raise FingerprintError(f"{len(rows)} row bytes for {sum(lengths)} positions")
    evidence = InputEvidence(signer, hidden, probes, tuple(lengths), rows, digest, signature)
    return own, evidence


def _runs(lengths: tuple[int, ...]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for length in lengths:
        if runs and runs[-1][0] == length:
            runs[-1] = (length, runs[-1][1] + 1)
        else:
            runs.append((length, 1))
    return runs
