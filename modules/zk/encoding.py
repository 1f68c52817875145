"""Canonical binary encodings of Groth16 (BN254) verifying keys, proofs and public inputs.

Every integer is 32 bytes big-endian. A G1 point is x || y (64 bytes); a G2 point is
x.c0 || x.c1 || y.c0 || y.c1 (128 bytes), with x = x.c0 + x.c1 * u in Fp2. Decoding accepts
exactly one byte string per point: coordinates must be < p, the point must be on its curve
(so the point at infinity, which has no affine coordinates, is never accepted), and a G2 point
must lie in the prime-order subgroup (G1 of BN254 has cofactor 1, on-curve suffices).

    proof          = A (G1) || B (G2) || C (G1)                                  256 bytes
    verifying key  = alpha (G1) || beta (G2) || gamma (G2) || delta (G2) || IC_0 .. IC_n (G1)
                     448 + 64 * (n + 1) bytes, n = number of public inputs
    public inputs  = n scalars, each < r                                         32 * n bytes

The snarkjs JSON converters at the bottom are client-side helpers (CLI, worker); the chain only
ever sees the binary form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from py_ecc.optimized_bn128 import (
    FQ,
    FQ2,
    b,
    b2,
    curve_order,
    field_modulus,
    is_inf,
    is_on_curve,
    multiply,
)

from modules.zk.errors import (
    ErrBadLength,
    ErrNonCanonical,
    ErrNotInSubgroup,
    ErrNotOnCurve,
    ErrPublicInputCount,
)

P = field_modulus  # base field modulus of BN254
R = curve_order  # order of G1, G2 and the scalar field of the circuits
WORD = 32  # bytes per field element or scalar
G1_BYTES = 2 * WORD
G2_BYTES = 4 * WORD
PROOF_BYTES = 2 * G1_BYTES + G2_BYTES  # 256
VK_FIXED_BYTES = G1_BYTES + 3 * G2_BYTES  # 448: alpha, beta, gamma, delta
MAX_PUBLIC_INPUTS = 64  # hard ceiling; params may set a lower one

G1Point = tuple[FQ, FQ, FQ]  # projective (x, y, z) as py-ecc's optimized_bn128 uses
G2Point = tuple[FQ2, FQ2, FQ2]


@dataclass(frozen=True)
class VerifyingKey:
    alpha: G1Point
    beta: G2Point
    gamma: G2Point
    delta: G2Point
    ic: tuple[G1Point, ...]  # IC_0 .. IC_n: n + 1 points for n public inputs

    @property
    def num_public(self) -> int:
        return len(self.ic) - 1


@dataclass(frozen=True)
class Proof:
    a: G1Point
    b: G2Point
    c: G1Point


def _word(data: bytes, index: int, modulus: int, what: str) -> int:
    value = int.from_bytes(data[index * WORD : (index + 1) * WORD], "big")
    if value >= modulus:
        raise ErrNonCanonical(f"{what}: value >= modulus")
    return value


def decode_g1(data: bytes, what: str = "G1 point") -> G1Point:
    """A G1 point from its 64 canonical bytes; raises a zk error otherwise."""
    if len(data) != G1_BYTES:
        raise ErrBadLength(f"{what}: {len(data)} bytes, want {G1_BYTES}")
    point = (FQ(_word(data, 0, P, what)), FQ(_word(data, 1, P, what)), FQ.one())
    if not is_on_curve(point, b):
        raise ErrNotOnCurve(what)
    return point


def decode_g2(data: bytes, what: str = "G2 point") -> G2Point:
    """A G2 point from its 128 canonical bytes, checked on the twist and in the subgroup."""
    if len(data) != G2_BYTES:
        raise ErrBadLength(f"{what}: {len(data)} bytes, want {G2_BYTES}")
    w = [_word(data, i, P, what) for i in range(4)]
    point = (FQ2([w[0], w[1]]), FQ2([w[2], w[3]]), FQ2.one())
    if not is_on_curve(point, b2):
        raise ErrNotOnCurve(what)
    if not is_inf(multiply(point, R)):  # ~30 ms: the twist has a large cofactor
        raise ErrNotInSubgroup(what)
    return point


def decode_proof(data: bytes) -> Proof:
    if len(data) != PROOF_BYTES:
        raise ErrBadLength(f"proof: {len(data)} bytes, want {PROOF_BYTES}")
    return Proof(
        a=decode_g1(data[:G1_BYTES], "proof A"),
        b=decode_g2(data[G1_BYTES : G1_BYTES + G2_BYTES], "proof B"),
        c=decode_g1(data[G1_BYTES + G2_BYTES :], "proof C"),
    )


def decode_verifying_key(data: bytes, max_public: int = MAX_PUBLIC_INPUTS) -> VerifyingKey:
    """A verifying key with at most ``max_public`` public inputs."""
    rest = len(data) - VK_FIXED_BYTES
    if rest < G1_BYTES or rest % G1_BYTES or rest // G1_BYTES - 1 > max_public:
        raise ErrBadLength(f"verifying key: {len(data)} bytes")
    g2 = [data[G1_BYTES + i * G2_BYTES : G1_BYTES + (i + 1) * G2_BYTES] for i in range(3)]
    ic = [data[VK_FIXED_BYTES + i * G1_BYTES :][:G1_BYTES] for i in range(rest // G1_BYTES)]
    return VerifyingKey(
        alpha=decode_g1(data[:G1_BYTES], "vk alpha"),
        beta=decode_g2(g2[0], "vk beta"),
        gamma=decode_g2(g2[1], "vk gamma"),
        delta=decode_g2(g2[2], "vk delta"),
        ic=tuple(decode_g1(p, f"vk IC {i}") for i, p in enumerate(ic)),
    )


def decode_public_inputs(data: bytes, count: int) -> tuple[int, ...]:
    """``count`` scalars, each < r."""
    if len(data) != count * WORD:
        raise ErrPublicInputCount(f"{len(data)} bytes of public inputs, want {count} x {WORD}")
    return tuple(_word(data, i, R, f"public input {i}") for i in range(count))


# -- client-side: snarkjs JSON -> canonical bytes ---------------------------------------------


def _int(text: Any) -> int:
    value = int(str(text), 10)
    if not 0 <= value < P:
        raise ValueError(f"coordinate {value} out of range")
    return value


def _affine_g1(point: Any) -> bytes:
    x, y, z = (_int(v) for v in point)
    if z != 1:
        raise ValueError("snarkjs G1 point not in affine form (z != 1)")
    return x.to_bytes(WORD, "big") + y.to_bytes(WORD, "big")


def _affine_g2(point: Any) -> bytes:
    (x0, x1), (y0, y1), (z0, z1) = ((_int(a), _int(c)) for a, c in point)
    if (z0, z1) != (1, 0):
        raise ValueError("snarkjs G2 point not in affine form (z != 1)")
    return b"".join(v.to_bytes(WORD, "big") for v in (x0, x1, y0, y1))


def proof_from_snarkjs(proof: dict[str, Any]) -> bytes:
    """snarkjs' proof.json (groth16, bn128) as the 256 canonical bytes."""
    return _affine_g1(proof["pi_a"]) + _affine_g2(proof["pi_b"]) + _affine_g1(proof["pi_c"])


def verifying_key_from_snarkjs(vk: dict[str, Any]) -> bytes:
    """snarkjs' verification_key.json (groth16, bn128) as canonical bytes."""
    if vk.get("protocol") != "groth16" or vk.get("curve") != "bn128":
        raise ValueError("only groth16 keys over bn128 are supported")
    g2 = b"".join(_affine_g2(vk[name]) for name in ("vk_beta_2", "vk_gamma_2", "vk_delta_2"))
    return _affine_g1(vk["vk_alpha_1"]) + g2 + b"".join(_affine_g1(p) for p in vk["IC"])


def public_inputs_from_snarkjs(public: list[Any]) -> bytes:
    """snarkjs' public.json (decimal strings) as 32-byte big-endian scalars."""
    values = [int(str(v), 10) for v in public]
    if any(not 0 <= v < R for v in values):
        raise ValueError("public input out of the scalar field")
    return b"".join(v.to_bytes(WORD, "big") for v in values)
