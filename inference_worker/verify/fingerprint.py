"""Shard fingerprints: compact, tolerance-comparable evidence of the hidden states a hop sent on.

A hop reveals, with its output, a fingerprint of the hidden states it sent to the next hop
(the last hop: of the hidden states it turned into logits) at every position of the job's
sequence: the prompt, then each generated token but the last (it is never fed back). A
validator recomputes the hop and compares fingerprints within a tolerance (`compare_fingerprints`):
honest floating-point differences (another thread count, another precision) stay far below the
tolerance; a skipped layer, perturbed hidden states or another model's weights do not.

What is kept of one position's hidden vector h (hidden,):

* its RMS, as ``round(log2(rms) * 256)`` in an int16 (1/256 octave: 0.27 % steps, any scale);
* P = `PROBES` projections of the RMS-normalized vector ``u = h / rms`` onto fixed
  pseudo-random sign vectors ``r_j in {±1}^hidden / sqrt(hidden)``, as int8 ``round(u·r_j /
  PROBE_STEP)``. Since rms(u) = 1, each projection is roughly N(0, 1); P projections estimate
  the relative size of a change of u (Johnson-Lindenstrauss), whatever channels it is in.
  Version 1 clipped u to ±4 first (so SmolLM2's few massive channels would not dominate):
  moving magnitude between clipped channels then left every byte identical while changing a
  position by up to 20 % (issue 14), so version 2 projects u unclipped; massive channels
  dominate the projections as they dominate ||h|| (the distance is relative to ||h||).

Probe directions are derived from a 64-bit ``probe_seed`` with SHA-256 (no torch RNG, so any
runtime derives the same bits); `derive_probe_seed` gives the one a job uses.

Canonical encoding (big-endian, like the chain's encodings)::

    offset  size  field
    0       4     magic b"IFFP"
    4       1     version (2: unclipped projections; version 1 clipped h / rms to ±4)
    5       1     probes per position P (1..16)
    6       1     positions per chunk (32)
    7       1     zero
    8       4     hidden size (u32, >= 1)
    12      4     positions n (u32, >= 1)
    16      8     probe seed (u64)
    24      ...   chunks of 32 positions (the last may be shorter), each:
                    n_c x i16   log-RMS codes
                    n_c x P x i8  probe codes, position-major, in [-127, 127]

so 32 positions take 32 x (2 + P) bytes: 256 bytes with P = 6, plus the 24-byte header once.
Encoding is deterministic for a given tensor; pure compute, no I/O.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

MAGIC = b"IFFP"
VERSION = 2  # 2: unclipped projections (version 1, clipped to ±4, is refused)
CHUNK = 32  # positions per chunk: the unit of comparison and of `first_bad_chunk`
PROBES = 6  # projections kept per position
PROBE_STEP = 1 / 32  # quantization step of a projection (units of rms-normalized hidden)
LOG_RMS_STEP = 1 / 256  # quantization step of log2(rms), in octaves
HEADER = struct.Struct(">4sBBBBIIQ")  # magic, version, probes, chunk, zero, hidden, n, seed
MAX_PROBES = 16
_ZERO_RMS_CODE = -32768  # an all-zero position (log2(0) = -inf)
_LN2 = math.log(2.0)


class FingerprintError(ValueError):
    """Malformed fingerprint bytes, or a tensor that cannot be fingerprinted."""


@dataclass(frozen=True)
class Fingerprint:
    """A decoded fingerprint: integer codes exactly as encoded."""

    hidden_size: int
    probe_seed: int  # u64 the probe directions derive from
    log_rms: torch.Tensor  # (n,) int16, log2(rms) / LOG_RMS_STEP
    probes: torch.Tensor  # (n, P) int8, projection / PROBE_STEP

    @property
    def positions(self) -> int:
        return int(self.log_rms.shape[0])

    @property
    def num_chunks(self) -> int:
        return -(-self.positions // CHUNK)

    def to_bytes(self) -> bytes:
        """The canonical encoding (see the module docstring)."""
        n, probes = self.positions, int(self.probes.shape[1])
        parts = [
            HEADER.pack(MAGIC, VERSION, probes, CHUNK, 0, self.hidden_size, n, self.probe_seed)
        ]
        rms = self.log_rms.to(torch.int16).numpy().astype(">i2")
        codes = self.probes.to(torch.int8).numpy()
        for start in range(0, n, CHUNK):
            parts.append(rms[start : start + CHUNK].tobytes())
            parts.append(codes[start : start + CHUNK].tobytes())
        return b"".join(parts)


def derive_probe_seed(job_id: int) -> int:
    """The probe seed of a job: the first 8 bytes of SHA-256(b"infera.fingerprint.v1\\x00" ||
    u64 job id), big-endian. Public and fixed per job (see VERIFICATION.md on what that allows)."""
    digest = hashlib.sha256(b"infera.fingerprint.v1\x00" + struct.pack(">Q", job_id)).digest()
    return int.from_bytes(digest[:8], "big")


def derive_late_probe_seed(probe_seed: int, output_hash: bytes) -> int:
    """The LATE probe seed of a route: the first 8 bytes, big-endian, of
    SHA-256(b"infera.fingerprint.late.v1\\x00" || u64 job probe seed || 32-byte output hash).
    `output_hash` is the hash the chain compares for the route's output
    (commits.compute_chain_output_hash: a sealed job's sealed hash, so the seed confirms no
    guessed output without the job's key), known to nobody before the last token: a hop cannot aim a perturbation at probes that
    depend on the output of the hops after it (VERIFICATION.md, "Late fingerprints")."""
    if len(output_hash) != 32:
        raise ValueError(f"an output hash is 32 bytes, got {len(output_hash)}")
    prefix = b"infera.fingerprint.late.v1\x00" + struct.pack(">Q", probe_seed)
    return int.from_bytes(hashlib.sha256(prefix + output_hash).digest()[:8], "big")


@lru_cache(maxsize=32)
def probe_directions(probe_seed: int, hidden_size: int, probes: int = PROBES) -> torch.Tensor:
    """Probe matrix (hidden, P) float32 of ±1/sqrt(hidden): bit i of the stream
    SHA-256(b"infera.probes.v1\\x00" || u64 seed || u32 hidden || u32 block) (blocks 0, 1, ...,
    bits most significant first) is 1 -> +1, 0 -> -1; entries fill the matrix probe-major
    (all of probe 0's hidden coordinates, then probe 1's)."""
    needed = hidden_size * probes
    stream = bytearray()
    prefix = b"infera.probes.v1\x00" + struct.pack(">QI", probe_seed, hidden_size)
    block = 0
    while len(stream) * 8 < needed:
        stream += hashlib.sha256(prefix + struct.pack(">I", block)).digest()
        block += 1
    bits = torch.tensor(list(stream), dtype=torch.uint8)
    shifts = torch.arange(7, -1, -1, dtype=torch.uint8)
    signs = ((bits.unsqueeze(1) >> shifts) & 1).flatten()[:needed].float() * 2 - 1
    return (signs.view(probes, hidden_size) / math.sqrt(hidden_size)).T.contiguous()


@torch.inference_mode()
def compute_fingerprint(hidden: torch.Tensor, *, probe_seed: int) -> Fingerprint:
    """Fingerprint hidden states (n, hidden) or (1, n, hidden), any float dtype, computed in
    float32 (so a bf16 tensor and its float32 copy give the same fingerprint)."""
    if hidden.ndim == 3 and hidden.shape[0] == 1:
        hidden = hidden[0]
    if hidden.ndim != 2 or hidden.shape[0] == 0 or hidden.shape[1] == 0:
        raise FingerprintError(f"hidden must be (n, hidden), got shape {tuple(hidden.shape)}")
    if not hidden.is_floating_point():
        raise FingerprintError(f"hidden must be floating point, got {hidden.dtype}")
    if hidden.shape[0] >= 2**32:
        raise FingerprintError("too many positions")
    h = hidden.detach().to(device="cpu", dtype=torch.float32)  # (n, hidden)
    if not bool(torch.isfinite(h).all()):
        raise FingerprintError("hidden states hold inf or nan")
    rms = h.pow(2).mean(dim=-1).sqrt()  # (n,)
    safe = torch.where(rms > 0, rms, torch.ones_like(rms))
    log_rms = torch.round(torch.log2(safe) / LOG_RMS_STEP).clamp(-32767, 32767)
    log_rms = torch.where(rms > 0, log_rms, torch.full_like(log_rms, _ZERO_RMS_CODE))
    unit = h / safe.unsqueeze(-1)  # (n, hidden), rms 1 (0 for an all-zero position)
    projected = unit @ probe_directions(probe_seed, h.shape[1])  # (n, P)
    codes = torch.round(projected / PROBE_STEP).clamp(-127, 127)
    return Fingerprint(
        hidden_size=int(h.shape[1]),
        probe_seed=probe_seed,
        log_rms=log_rms.to(torch.int16),
        probes=codes.to(torch.int8),
    )


def fingerprint_bytes(hidden: torch.Tensor, *, probe_seed: int) -> bytes:
    """`compute_fingerprint` in its canonical encoding."""
    return compute_fingerprint(hidden, probe_seed=probe_seed).to_bytes()


class FingerprintBuilder:
    """Accumulates a hop's fingerprint step by step (prefill, then one token at a time): only
    the (n, P) projections and the RMS codes are kept, never the hidden states."""

    def __init__(self, *, probe_seed: int):
        self.probe_seed = probe_seed
        self._parts: list[Fingerprint] = []

    def add(self, hidden: torch.Tensor) -> None:
        """Hidden states sent on in one step: (1, seq, hidden) or (seq, hidden)."""
        self._parts.append(compute_fingerprint(hidden, probe_seed=self.probe_seed))

    @property
    def positions(self) -> int:
        return sum(p.positions for p in self._parts)

    def finish(self) -> Fingerprint:
        if not self._parts:
            raise FingerprintError("no hidden states were added")
        sizes = {p.hidden_size for p in self._parts}
        if len(sizes) != 1:
            raise FingerprintError(f"hidden sizes differ between steps: {sorted(sizes)}")
        return Fingerprint(
            hidden_size=sizes.pop(),
            probe_seed=self.probe_seed,
            log_rms=torch.cat([p.log_rms for p in self._parts]),
            probes=torch.cat([p.probes for p in self._parts]),
        )


class KeptStates:
    """Hidden states kept whole until the route's output is known, to fingerprint them then with
    the late probe seed. Costs positions x hidden x the tensor's element size (4 bytes in
    float32; states are kept in the dtype they come in, which gives the same fingerprint)."""

    def __init__(self) -> None:
        self._parts: list[torch.Tensor] = []  # each (seq, hidden), on the CPU

    def add(self, hidden: torch.Tensor) -> None:
        """States of one step: (1, seq, hidden) or (seq, hidden)."""
        part = hidden[0] if hidden.ndim == 3 else hidden
        self._parts.append(part.detach().to("cpu", copy=True))

    @property
    def positions(self) -> int:
        return sum(int(p.shape[0]) for p in self._parts)

    def fingerprint(self, probe_seed: int) -> Fingerprint:
        """The fingerprint of every kept position with `probe_seed`; FingerprintError if none."""
        if not self._parts:
            raise FingerprintError("no hidden states were kept")
        return compute_fingerprint(torch.cat(self._parts), probe_seed=probe_seed)


def decode_fingerprint(data: bytes) -> Fingerprint:
    """Parse the canonical encoding; raises FingerprintError on anything malformed."""
    if len(data) < HEADER.size:
        raise FingerprintError(f"{len(data)} bytes is shorter than the header")
    magic, version, probes, chunk, zero, hidden, n, seed = HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION:
        raise FingerprintError(f"not a version {VERSION} fingerprint")
    if not 1 <= probes <= MAX_PROBES or chunk != CHUNK or zero != 0:
        raise FingerprintError(f"bad header: probes {probes}, chunk {chunk}, reserved {zero}")
    if hidden < 1 or n < 1:
        raise FingerprintError(f"bad header: hidden size {hidden}, positions {n}")
    if len(data) != HEADER.size + n * (2 + probes):
        raise FingerprintError(f"{len(data)} bytes, expected {HEADER.size + n * (2 + probes)}")
    rms_parts, code_parts = [], []
    offset = HEADER.size
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        rms_parts.append(np.frombuffer(data, dtype=">i2", count=count, offset=offset))
        offset += 2 * count
        code_parts.append(np.frombuffer(data, dtype="i1", count=count * probes, offset=offset))
        offset += probes * count
    log_rms = torch.from_numpy(np.concatenate(rms_parts).astype(np.int16))
    codes = torch.from_numpy(np.concatenate(code_parts).astype(np.int8)).view(n, probes)
    if bool((codes == -128).any()):
        raise FingerprintError("probe code -128 is not canonical")
    return Fingerprint(hidden, seed, log_rms, codes)


def chunk_distances(a: Fingerprint, b: Fingerprint) -> torch.Tensor:
    """Per chunk, the estimated relative L2 change of the hidden vectors between `a` and `b`:
    (num_chunks,) float64, the RMS over the chunk's positions of
    ``sqrt(|Δ projections|^2 / P + (ln 2 · Δ log2 rms)^2)`` (direction change, then size change,
    both relative to the vector's size). inf where one side is an all-zero position and the
    other is not. Fingerprints must have the same shape (see `compare_fingerprints`)."""
    probes = (a.probes.double() - b.probes.double()) * PROBE_STEP  # (n, P)
    direction = probes.pow(2).mean(dim=-1)  # (n,)
    size = (a.log_rms.double() - b.log_rms.double()) * LOG_RMS_STEP * _LN2
    zero_a, zero_b = a.log_rms == _ZERO_RMS_CODE, b.log_rms == _ZERO_RMS_CODE
    size = torch.where(zero_a == zero_b, size, torch.full_like(size, math.inf))
    size = torch.where(zero_a & zero_b, torch.zeros_like(size), size)
    per_position = direction + size.pow(2)  # (n,) squared relative error
    chunks = []
    for start in range(0, a.positions, CHUNK):
        chunks.append(per_position[start : start + CHUNK].mean().sqrt())
    return torch.stack(chunks)


@torch.inference_mode()
def state_distances(states: torch.Tensor, honest: torch.Tensor) -> torch.Tensor:
    """The exact counterpart of `chunk_distances` on whole hidden states (1, n, hidden) or
    (n, hidden): per chunk of CHUNK positions, the RMS over its positions of ``|states -
    honest| / |honest|`` (float64; 0 where both are all-zero, inf where only `honest` is).
    What the verifier uses when it holds the states a hop received (VERIFICATION.md)."""
    a = (states[0] if states.ndim == 3 else states).detach().to("cpu", torch.float64)
    b = (honest[0] if honest.ndim == 3 else honest).detach().to("cpu", torch.float64)
    if a.shape != b.shape:
        raise FingerprintError(f"states of shape {tuple(a.shape)} and {tuple(b.shape)}")
    change, size = (a - b).pow(2).sum(dim=-1), b.pow(2).sum(dim=-1)  # (n,)
    ratio = change / torch.where(size > 0, size, torch.ones_like(size))
    ratio = torch.where((size > 0) | (change == 0), ratio, torch.full_like(ratio, math.inf))
    return torch.stack(
        [ratio[start : start + CHUNK].mean().sqrt() for start in range(0, a.shape[0], CHUNK)]
    )


def compare_fingerprints(
    a: bytes | Fingerprint, b: bytes | Fingerprint, tolerance: float
) -> tuple[bool, int | None, float]:
    """Are two fingerprints of the same hidden states, within `tolerance` (relative L2 change
    per chunk, e.g. 0.05 = 5 %)? Returns (ok, first chunk over tolerance or None, largest chunk
    distance). Fingerprints of different shape (hidden size, positions, probes) or probe seed
    cannot be of the same states: (False, 0, inf). Malformed bytes raise FingerprintError."""
    fa = a if isinstance(a, Fingerprint) else decode_fingerprint(a)
    fb = b if isinstance(b, Fingerprint) else decode_fingerprint(b)
    same_shape = (
        fa.hidden_size == fb.hidden_size
        and fa.probe_seed == fb.probe_seed
        and fa.probes.shape == fb.probes.shape
    )
    if not same_shape:
        return False, 0, math.inf
    distances = chunk_distances(fa, fb)
    over = torch.nonzero(distances > tolerance).flatten()
    first_bad = int(over[0]) if over.numel() else None
    return first_bad is None, first_bad, float(distances.max())
