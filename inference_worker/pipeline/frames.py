"""Signed fingerprint rows on every hidden-state frame, and the evidence a receiver keeps of them.

Why: a hop's own fingerprint is only what it SAYS it sent. A hop that sends perturbed states
but fingerprints honest ones would make the next, honest hop look guilty. So every frame a hop
sends downstream carries (pipeline.proto `HiddenStates.fingerprint_rows` / `signature`):

* the fingerprint rows of the frame's positions, computed on exactly what the receiver decodes
  (the states after the wire codec round trip), and
* the sender's recoverable secp256k1 signature over a running hash of every frame it sent in
  the session, with its chain (worker) key.

The receiver recomputes the rows from the payload it decoded and refuses a frame whose signed
rows differ by more than one quantization step, whose signature is missing (when required),
invalid, or recovers to another address than the route's sending worker.

These rows use the job's PUBLIC probe seed: a sender can perturb its states orthogonally to
those probes and pass. So both sides keep the states that crossed the boundary (`KeptStates`),
and when the route's output is known the sender signs LATE evidence (`FrameSender.seal_late`):
the rows of every position it sent with the late probe seed (fingerprint.derive_late_probe_seed:
from the job's seed and the output hash the chain compares, unknowable before the last token;
a sealed job's sealed hash, so neither the seed nor the late signature confirms a guess), which the receiver
checks on its kept states by the same one-step rule (`FrameReceiver.accept_late`) and reveals
(`LateEvidence`, reveal.py). A validator then holds, for hop k, a fingerprint of hop k's output
with probes hop k could not aim at, that hop k signed and hop k+1 could not forge
(`verify_late_evidence`); VERIFICATION.md has the attribution rules.

The chain, per frame i of one session (all integers big-endian)::

    H_{-1} = 32 zero bytes
    H_i    = sha256(b"infera.frames.v2\\x00chain" || H_{i-1} || u64 job id || u32 route index
                    || u32 sender hop || u32 frame seq i || u32 positions n_i || u32 hidden size
                    || u8 probes P || sha256(payload_i) || rows_i)
    sig_i  = sign(sha256(b"infera.frames.v2\\x00sign" || H_i || sha256(payload_i)))
    late   = sign(sha256(b"infera.frames.v2\\x00late" || H_last || output hash || u64 job id
                         || u32 route index || u32 sender hop || u32 positions n || u32 hidden
                         || u8 probes P || late rows))

rows_i is n_i x (2 + P) bytes, position-major: the int16 log-RMS code, then P int8 probe codes
(inference_worker.verify.fingerprint). Signing each frame over the payload digest binds the rows to
the exact bytes sent (a receiver holding one frame can show what it was sent); the chain hash
binds every frame's rows AND payload digest (version 2), and the late signature binds the
last chain hash, so the late evidence belongs to exactly the frames the receiver accepted and
the sender's one late signature covers every payload it sent. A receiver keeps the frames
(`FrameReceiver.frames`: payload and rows each) and can hand them to a verifier
(`encode_received_frames`), who checks them against the signed last chain hash
(`received_states`) and judges the receiver on exactly what it received, and the sender on
what it sent, at full resolution: no fingerprint blind spot helps a sender frame its receiver. The late signature covers the
output hash: it cannot be replayed for another output (another late seed).

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

from chain.crypto import address_from_secp256k1, from_bech32
from inference_worker.pipeline.codec import decode, encode
from inference_worker.verify.fingerprint import (
    PROBES,
    Fingerprint,
    FingerprintError,
    KeptStates,
    compute_fingerprint,
    derive_late_probe_seed,
)

CHAIN_DOMAIN = b"infera.frames.v2\x00chain"  # v2: H_i binds sha256(payload_i)
SIGN_DOMAIN = b"infera.frames.v2\x00sign"
LATE_DOMAIN = b"infera.frames.v2\x00late"
GENESIS = bytes(32)  # H_{-1}
SIGNATURE_LENGTH = 65  # r || s || recovery id
DIGEST_LENGTH = 32
ROW_TOLERANCE = 1  # codes: the most a signed row may differ from the receiver's recomputation
_FRAME = struct.Struct(">QIIIIIB")  # job, route, sender hop, seq, positions, hidden, probes
_LATE = struct.Struct(">QIIIIB")  # job, route, sender hop, positions, hidden, probes


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
    previous: bytes,
    context: ChainContext,
    *,
    seq: int,
    hidden_size: int,
    probes: int,
    rows: bytes,
    payload_digest: bytes,
) -> bytes:
    """H_i from H_{i-1} (module docstring); `payload_digest` is sha256(payload_i)."""
    positions = len(rows) // (2 + probes)
    head = _FRAME.pack(
        context.job_id, context.route_index, context.sender_hop, seq, positions, hidden_size, probes
    )
    return hashlib.sha256(CHAIN_DOMAIN + previous + head + payload_digest + rows).digest()


def signing_digest(chain_hash: bytes, payload_digest: bytes) -> bytes:
    """What a frame's signature signs: sha256(domain || H_i || sha256(payload_i))."""
    return hashlib.sha256(SIGN_DOMAIN + chain_hash + payload_digest).digest()


def late_digest(
    chain_hash: bytes,
    context: ChainContext,
    *,
    output_hash: bytes,
    hidden_size: int,
    probes: int,
    rows: bytes,
) -> bytes:
    """What a late evidence signature signs (module docstring): the session's last chain hash,
    the route's output hash, the job, route, sender hop, shape and the late rows."""
    positions = len(rows) // (2 + probes)
    head = _LATE.pack(
        context.job_id, context.route_index, context.sender_hop, positions, hidden_size, probes
    )
    return hashlib.sha256(LATE_DOMAIN + chain_hash + output_hash + head + rows).digest()


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
        self.kept = KeptStates()  # what the receiver decoded, for the late rows (signed only)

    def seal(self, received_view: torch.Tensor, payload: bytes) -> FrameSeal:
        """Rows and signature of the next frame. `received_view` (1, n, hidden) is what the
        receiver will decode from `payload` (for an honest sender: decode(payload))."""
        if self.signer is None:
            return FrameSeal()
        fp = compute_fingerprint(received_view, probe_seed=self.probe_seed)
        rows = fingerprint_rows(fp)
        self.kept.add(received_view)
        payload_digest = hashlib.sha256(payload).digest()
        self._chain = chain_step(
            self._chain, self.context, seq=self._seq, hidden_size=fp.hidden_size,
            probes=PROBES, rows=rows, payload_digest=payload_digest,
        )  # fmt: skip
        self._seq += 1
        digest = signing_digest(self._chain, payload_digest)
        return FrameSeal(rows=rows, signature=self.signer.sign(digest))

    def seal_late(self, output_hash: bytes) -> FrameSeal:
        """The late evidence of everything sent, once the route's output is known: the rows of
        every position sent with the late probe seed, signed with the last chain hash and the
        output hash (`late_digest`). Empty when unsigned or nothing was sent."""
        if self.signer is None or not self.kept.positions:
            return FrameSeal()
        seed = derive_late_probe_seed(self.probe_seed, output_hash)
        fp = self.kept.fingerprint(seed)
        rows = fingerprint_rows(fp)
        digest = late_digest(
            self._chain, self.context, output_hash=output_hash, hidden_size=fp.hidden_size,
            probes=PROBES, rows=rows,
        )  # fmt: skip
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
        self._seq = 0  # frames accepted
        self._signed: bool | None = None  # fixed by the first frame
        self._signer: bytes | None = None
        self._hidden = 0
        self.kept = KeptStates()  # the decoded states of signed frames, for the late rows
        self.frames: list[ReceivedFrame] = []  # every signed frame as received, in order: what
        # the verifier judges this hop on (`encode_received_frames`, `received_states`)
        self.late: LateEvidence | None = None  # the sender's late evidence, once checked

    @property
    def signed(self) -> bool:
        """Whether the session's frames were signed (then late evidence is owed)."""
        return bool(self._signed)

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
        payload_digest = hashlib.sha256(payload).digest()
        chain = chain_step(
            self._chain, self.context, seq=self._seq, hidden_size=hidden,
            probes=PROBES, rows=seal.rows, payload_digest=payload_digest,
        )  # fmt: skip
        try:
            signer = recover_address(signing_digest(chain, payload_digest), seal.signature)
        except ValueError as err:
            raise self._error(f"invalid signature: {err}") from err
        if self._signer is not None and signer != self._signer:
            raise self._error("signed by another key than its earlier frames (out of chain)")
        if self.expected is not None and signer != self.expected:
            raise self._error("signed by another worker than the route's hop")
        self._chain, self._signer, self._hidden = chain, signer, hidden
        self.kept.add(decoded)
        self.frames.append(ReceivedFrame(payload=payload, rows=seal.rows))
        self._seq += 1

    def accept_late(self, seal: FrameSeal, output_hash: bytes) -> LateEvidence:
        """Check the sender's late evidence against the states this hop kept (same one-step
        rule as `accept`, with the late probe seed) and its signature over the last chain hash
        and `output_hash` (this hop's own view of the output); keep and return it. Raises
        FrameEvidenceError naming the sender."""
        if not self._signed or self._signer is None:
            raise self._error("late evidence for a session whose frames were not signed")
        if self.late is not None:
            raise self._error("a second late evidence")
        seed = derive_late_probe_seed(self.probe_seed, output_hash)
        claimed = self._parse_rows(seal.rows, self._hidden, self.kept.positions)
        if self.check_rows:
            worst = _worst_code_difference(claimed, self.kept.fingerprint(seed))
            if worst > ROW_TOLERANCE:
                raise self._error(
                    f"late fingerprint rows differ from the states it sent by {worst} "
                    f"quantization steps (at most {ROW_TOLERANCE} allowed): it sent other states "
                    "than it fingerprinted"
                )
        digest = late_digest(
            self._chain, self.context, output_hash=output_hash, hidden_size=self._hidden,
            probes=PROBES, rows=seal.rows,
        )  # fmt: skip
        try:
            signer = recover_address(digest, seal.signature)
        except ValueError as err:
            raise self._error(f"invalid late signature: {err}") from err
        if signer != self._signer:
            raise self._error("late evidence signed by another key than its frames")
        self.late = LateEvidence(
            signer, self._hidden, PROBES, self._chain, seal.rows, seal.signature
        )
        return self.late

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


def _worst_code_difference(a: Fingerprint, b: Fingerprint) -> int:
    rms = (a.log_rms.int() - b.log_rms.int()).abs().max()
    probes = (a.probes.int() - b.probes.int()).abs().max()
    return int(max(rms, probes))


@dataclass(frozen=True)
class ReceivedFrame:
    """One signed frame as its receiver accepted it: the codec payload and the signed rows."""

    payload: bytes  # the wire codec's bytes, exactly as received (their sha256 is chained)
    rows: bytes  # the in-band fingerprint rows (public probe seed), as signed


_RECEIVED_MAGIC = b"IFRF"
_RECEIVED_VERSION = 1
_RECEIVED_HEADER = struct.Struct(">4sBBHII")  # magic, version, probes, zero, hidden, frames
_RECEIVED_FRAME = struct.Struct(">II")  # payload bytes, row bytes


def encode_received_frames(frames: list[ReceivedFrame] | tuple[ReceivedFrame, ...], *,
                           hidden_size: int) -> bytes:  # fmt: skip
    """The frames a hop received, as it hands them to a verifier (a dispute payload)::

    0 4 magic b"IFRF"   4 1 version (1)   5 1 probes P   6 2 zero   8 4 hidden size
    12 4 frame count, then per frame: u32 payload bytes, u32 row bytes, payload, rows
    """
    parts = [_RECEIVED_HEADER.pack(_RECEIVED_MAGIC, _RECEIVED_VERSION, PROBES, 0,
                                   hidden_size, len(frames))]  # fmt: skip
    for frame in frames:
        parts += [_RECEIVED_FRAME.pack(len(frame.payload), len(frame.rows)), frame.payload,
                  frame.rows]  # fmt: skip
    return b"".join(parts)


def decode_received_frames(data: bytes) -> tuple[int, tuple[ReceivedFrame, ...]]:
    """(hidden size, frames) of `encode_received_frames` bytes; FingerprintError if malformed."""
    if len(data) < _RECEIVED_HEADER.size:
        raise FingerprintError("shorter than a received-frames header")
    magic, version, probes, zero, hidden, count = _RECEIVED_HEADER.unpack_from(data)
    if (magic, version, probes, zero) != (_RECEIVED_MAGIC, _RECEIVED_VERSION, PROBES, 0):
        raise FingerprintError("not version 1 received frames")
    offset, frames = _RECEIVED_HEADER.size, []
    for _ in range(count):
        if len(data) < offset + _RECEIVED_FRAME.size:
            raise FingerprintError("truncated received frames")
        size, row_size = _RECEIVED_FRAME.unpack_from(data, offset)
        offset += _RECEIVED_FRAME.size
        if len(data) < offset + size + row_size:
            raise FingerprintError("truncated received frame")
        frames.append(ReceivedFrame(data[offset : offset + size],
                                    data[offset + size : offset + size + row_size]))  # fmt: skip
        offset += size + row_size
    if offset != len(data):
        raise FingerprintError("trailing bytes after the received frames")
    return hidden, tuple(frames)


def received_states(
    frames: tuple[ReceivedFrame, ...],
    evidence: LateEvidence,
    context: ChainContext,
    *,
    codec: str,
    positions: int,
) -> torch.Tensor:
    """The states (1, positions, hidden) a receiver computed on, proven by its sender's
    signature: the frames' chain (rows and payload digests) must end in the sender-signed
    H_last of `evidence` (which the caller has checked VALID: `verify_late_evidence`), and
    the payloads must decode, with the job's codec, to `positions` positions in all. Raises
    FingerprintError otherwise (the receiver's frames are then unusable)."""
    chain, parts, width = GENESIS, [], 2 + evidence.probes
    for seq, frame in enumerate(frames):
        if not frame.rows or len(frame.rows) % width:
            raise FingerprintError(f"frame {seq}: {len(frame.rows)} row bytes")
        chain = chain_step(
            chain, context, seq=seq, hidden_size=evidence.hidden_size, probes=evidence.probes,
            rows=frame.rows, payload_digest=hashlib.sha256(frame.payload).digest(),
        )  # fmt: skip
        shape = (1, len(frame.rows) // width, evidence.hidden_size)
        try:
            parts.append(decode(frame.payload, codec, expected_shape=shape))
        except Exception as err:  # CodecError, or a codec that cannot parse these bytes
            raise FingerprintError(f"frame {seq} does not decode: {err}") from err
    if chain != evidence.chain_hash:
        raise FingerprintError("the frames do not end in the chain hash their sender signed")
    states = torch.cat(parts, dim=1) if parts else torch.empty(1, 0, evidence.hidden_size)
    if states.shape[1] != positions:
        raise FingerprintError(f"the frames hold {states.shape[1]} positions, not {positions}")
    return states.float()


class EvidenceStatus(StrEnum):
    """What a validator makes of a hop's revealed late evidence (`verify_late_evidence`)."""

    ABSENT = "absent"  # none revealed (unsigned pipeline, or the first hop)
    VALID = "valid"  # the chain and the last signature check out, signed by the route's hop
    FOREIGN = "foreign"  # internally consistent, but signed by another key than the route's
    # hop (a replaced hop, or a hop that signed something itself): unusable, nobody's fault
    BAD = "bad"  # provably not what an honest receiver keeps: malformed, a signature that does
    # not recover to the signer it names, or not covering the route's positions


# --- late evidence ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LateEvidence:
    """What a hop received from the hop before it, fingerprinted with the LATE probe seed and
    signed by that hop once the output was known: checkable by anyone holding the route's
    output (`verify_late_evidence`), and what the verifier judges the sender on."""

    signer: bytes  # 20-byte address the late signature recovered to at receipt
    hidden_size: int
    probes: int  # probe codes per position
    chain_hash: bytes  # the sender's last in-band chain hash H_last (binds every frame)
    rows: bytes  # positions x (2 + probes) bytes, late probe seed
    signature: bytes  # 65 bytes over `late_digest`

    @property
    def positions(self) -> int:
        return len(self.rows) // (2 + self.probes)

    def fingerprint(self, probe_seed: int) -> Fingerprint:
        """The signed rows as a fingerprint of the sender's output (with the late seed)."""
        return rows_fingerprint(
            self.rows, hidden_size=self.hidden_size, probes=self.probes, probe_seed=probe_seed
        )


def verify_late_evidence(
    evidence: LateEvidence,
    context: ChainContext,
    *,
    expected: bytes | None,
    positions: int,
    output_hash: bytes,
) -> tuple[EvidenceStatus, str]:
    """Check a revealed late evidence against the route's claimed output. `positions` is the
    number of positions the route ran: an honest receiver received every one of them, so
    fewer or more is BAD; so is a signature that does not recover to the signer it names over
    these rows and this output. Consistent but signed by another key than `expected`:
    FOREIGN (`EvidenceStatus`)."""
    width = 2 + evidence.probes
    if len(evidence.rows) != positions * width or len(evidence.chain_hash) != DIGEST_LENGTH:
        return EvidenceStatus.BAD, (
            f"{len(evidence.rows)} row bytes; the route ran {positions} positions"
        )
    digest = late_digest(
        evidence.chain_hash, context, output_hash=output_hash,
        hidden_size=evidence.hidden_size, probes=evidence.probes, rows=evidence.rows,
    )  # fmt: skip
    try:
        recovered = recover_address(digest, evidence.signature)
    except ValueError as err:
        return EvidenceStatus.BAD, str(err)
    if recovered != evidence.signer:
        return EvidenceStatus.BAD, "the late signature does not cover these rows and this output"
    if expected is None or recovered != expected:
        return EvidenceStatus.FOREIGN, "signed by another key than the route's hop"
    return EvidenceStatus.VALID, "ok"
