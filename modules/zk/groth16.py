"""Groth16 verification over BN254 with py-ecc, one proof or a whole block's batch.

A proof (A, B, C) for public inputs x under a key (alpha, beta, gamma, delta, IC) is valid when

    e(A, B) = e(alpha, beta) * e(vk_x, gamma) * e(C, delta),   vk_x = IC_0 + sum_j x_j IC_{j+1}

Batch verification (random linear combination): for proofs i with coefficients z_i (128-bit,
non-zero, derived by hashing the whole batch, so a prover cannot choose them), every proof is
valid (except with probability <= 2^-128 per batch) when

    prod_i e(-z_i A_i, B_i) * prod_keys e(sum z_i alpha, beta) e(sum z_i vk_x_i, gamma)
                                        e(sum z_i C_i, delta) = 1

which costs n + 3 * (distinct keys) Miller loops and one final exponentiation instead of
4n and n. A failing batch is bisected to find exactly the invalid proofs.

Consensus code: integers only (py-ecc field arithmetic is Python ints), no floats, no randomness.
Inputs are decoded (canonical, on curve, in subgroup) before they get here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128 import add, curve_order, is_inf, multiply, neg, twist
from py_ecc.optimized_bn128.optimized_pairing import cast_point_to_fq12, miller_loop

from chain.errors import ChainError
from modules.zk import encoding
from modules.zk.encoding import G1Point, G2Point, Proof, VerifyingKey

COEFFICIENT_BITS = 128  # soundness of one batch: a forged batch passes with prob. <= 2^-128
FINAL_EXPONENT = (FQ12.field_modulus**12 - 1) // curve_order


@dataclass(frozen=True)
class BatchItem:
    """One proof to check: ``key_id`` groups items under the same verifying key."""

    key_id: str
    vk: VerifyingKey
    proof: Proof
    inputs: tuple[int, ...]  # each < r, len == vk.num_public
    digest: bytes  # 32 bytes binding (key, proof, inputs): sha256 of their canonical bytes


def compute_vk_x(vk: VerifyingKey, inputs: Sequence[int]) -> G1Point:
    """IC_0 + sum_j inputs_j * IC_{j+1} (the caller checked len(inputs) == vk.num_public)."""
    acc = vk.ic[0]
    for value, point in zip(inputs, vk.ic[1:], strict=True):
        if value:
            acc = add(acc, multiply(point, value))
    return acc


def compute_coefficients(seed: bytes, digests: Sequence[bytes]) -> list[int]:
    """One non-zero 128-bit coefficient per item, from the block seed and every item's digest.

    Hashing all digests first (Fiat-Shamir) makes each coefficient depend on every proof of the
    batch, so no proof can be chosen after the coefficients are known.
    """
    transcript = hashlib.sha256(b"infera/zk/batch/v1" + seed + b"".join(digests)).digest()
    out = []
    for index in range(len(digests)):
        h = hashlib.sha256(transcript + index.to_bytes(4, "big")).digest()
        out.append(int.from_bytes(h[: COEFFICIENT_BITS // 8], "big") | 1)  # odd: never zero
    return out


def _miller(q: G2Point, p: G1Point) -> FQ12:
    if is_inf(q) or is_inf(p):
        return FQ12.one()
    return miller_loop(twist(q), cast_point_to_fq12(p), final_exponentiate=False)


def is_valid_batch(items: Sequence[BatchItem], coefficients: Sequence[int]) -> bool:
    """True when the random linear combination of ``items`` checks (see the module docstring)."""
    f = FQ12.one()
    sums: dict[str, tuple[VerifyingKey, G1Point | None, G1Point | None, G1Point | None]] = {}
    for item, z in zip(items, coefficients, strict=True):
        f = f * _miller(item.proof.b, neg(multiply(item.proof.a, z)))
        vk, s_alpha, s_x, s_c = sums.get(item.key_id, (item.vk, None, None, None))
        za = multiply(vk.alpha, z)
        zx = multiply(compute_vk_x(vk, item.inputs), z)
        zc = multiply(item.proof.c, z)
        sums[item.key_id] = (
            vk,
            za if s_alpha is None else add(s_alpha, za),
            zx if s_x is None else add(s_x, zx),
            zc if s_c is None else add(s_c, zc),
        )
    for key_id in sorted(sums):
        vk, s_alpha, s_x, s_c = sums[key_id]
        assert s_alpha is not None and s_x is not None and s_c is not None  # one item at least
        f = f * _miller(vk.beta, s_alpha) * _miller(vk.gamma, s_x) * _miller(vk.delta, s_c)
    return f**FINAL_EXPONENT == FQ12.one()


def is_valid_proof(vk: VerifyingKey, proof: Proof, inputs: Sequence[int]) -> bool:
    """The plain single check (a batch of one with coefficient 1): 4 Miller loops, 1 final exp."""
    item = BatchItem(key_id="", vk=vk, proof=proof, inputs=tuple(inputs), digest=b"")
    return is_valid_batch([item], [1])


def compute_batch_cost(items: Sequence[BatchItem]) -> int:
    """Miller loops of one batch check: one per item plus three per distinct key."""
    return len(items) + 3 * len({item.key_id for item in items})


def compute_invalid_indices(
    items: Sequence[BatchItem], seed: bytes, budget: int | None = None
) -> tuple[list[int], list[int]]:
    """(invalid, undecided) indices, ascending: one batch check, bisected where it fails.

    With k invalid items among n this costs at most 1 + 2k * ceil(log2 n) batch checks.
    ``budget`` caps the Miller loops spent (None: no cap); a range whose check would exceed it is
    split, and a single proof it cannot afford is left undecided (the caller keeps those for the
    next block), so a block's verification work is bounded whatever the proofs are, and a budget
    of at least one single check decides at least one proof per block.
    """
    if not items:
        return [], []
    coefficients = compute_coefficients(seed, [item.digest for item in items])
    bad: list[int] = []
    undecided: list[int] = []
    left = [budget]

    def bisect(lo: int, hi: int) -> None:
        cost = compute_batch_cost(items[lo:hi])
        if left[0] is not None and cost > left[0]:
            if hi - lo == 1:
                undecided.append(lo)
                return
            mid = (lo + hi) // 2  # too dear as one check: try the halves (progress each block)
            bisect(lo, mid)
            bisect(mid, hi)
            return
        if left[0] is not None:
            left[0] -= cost
        if is_valid_batch(items[lo:hi], coefficients[lo:hi]):
            return
        if hi - lo == 1:
            bad.append(lo)
            return
        mid = (lo + hi) // 2
        bisect(lo, mid)
        bisect(mid, hi)

    bisect(0, len(items))
    return bad, undecided


def is_accepted(vk_bytes: bytes, proof_bytes: bytes, public_bytes: bytes) -> bool:
    """The chain's whole verdict on encoded data: decodes, checks and verifies; never raises.

    False for any malformed encoding (each has its own error code when decoded directly) and for
    a proof that does not verify.
    """
    try:
        vk = encoding.decode_verifying_key(vk_bytes)
        proof = encoding.decode_proof(proof_bytes)
        inputs = encoding.decode_public_inputs(public_bytes, vk.num_public)
    except ChainError:
        return False
    return is_valid_proof(vk, proof, inputs)
