"""Groth16 verification with py-ecc against snarkjs' own verdict (differential), encodings, batches.

Tests that need snarkjs skip when `make install` has not installed it; keys and proofs are cached
under ~/.cache/infera, and the py-ecc checks (~0.8 s each) are kept to a handful outside `slow`.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.optimized_bn128 import b2, field_modulus, is_inf, multiply

from chain.errors import ChainError
from modules.zk import encoding, groth16
from modules.zk.errors import (
    ErrBadLength,
    ErrNonCanonical,
    ErrNotInSubgroup,
    ErrNotOnCurve,
    ErrPublicInputCount,
)
from tests.modules.zk.fixtures import Sample, mul_sample, needs_snarkjs

P = field_modulus


def _encode(sample: Sample) -> tuple[bytes, bytes, bytes]:
    return (
        encoding.verifying_key_from_snarkjs(sample.vk),
        encoding.proof_from_snarkjs(sample.proof),
        encoding.public_inputs_from_snarkjs(sample.public),
    )


def _both_verdicts(sample: Sample, tmp_path) -> tuple[bool, bool]:
    from inference_worker.zk.snarkjs import snarkjs_verify

    ours = groth16.is_accepted(*_encode(sample))
    theirs = snarkjs_verify(sample.vk, sample.proof, sample.public, tmp_path)
    return ours, theirs


def _sqrt_fq2(a: FQ2) -> FQ2 | None:
    """A square root in Fp2 (p = 3 mod 4; Adj and Rodriguez-Henriquez, algorithm 9)."""
    a1 = a ** ((P - 3) // 4)
    alpha = a1 * a1 * a
    x0 = a1 * a
    if alpha == FQ2([P - 1, 0]):
        root = FQ2([0, 1]) * x0
    else:
        root = (FQ2.one() + alpha) ** ((P - 1) // 2) * x0
    return root if root * root == a else None


def _twist_point_outside_subgroup() -> tuple[int, int, int, int]:
    for x0 in range(1, 100):
        x = FQ2([x0, 1])
        y = _sqrt_fq2(x**3 + b2)
        if y is not None and not is_inf(multiply((x, y, FQ2.one()), encoding.R)):
            return tuple(int(c) for c in (*x.coeffs, *y.coeffs))  # type: ignore[return-value]
    raise AssertionError("no point found")


# -- differential: py-ecc and snarkjs agree ----------------------------------------------------


@needs_snarkjs
def test_valid_snarkjs_proof_is_accepted_by_both(tmp_path):
    assert _both_verdicts(mul_sample(3, 11), tmp_path) == (True, True)


@needs_snarkjs
def test_wrong_public_input_is_rejected_by_both(tmp_path):
    sample = mul_sample(3, 11)
    wrong = Sample(vk=sample.vk, proof=sample.proof, public=["34", "3"])
    assert _both_verdicts(wrong, tmp_path) == (False, False)


@needs_snarkjs
def test_proof_for_another_key_is_rejected_by_both(tmp_path):
    mine, other = mul_sample(3, 11), mul_sample(3, 11, entropy="another-setup")
    assert mine.vk != other.vk
    crossed = Sample(vk=mine.vk, proof=other.proof, public=other.public)
    assert _both_verdicts(crossed, tmp_path) == (False, False)


@needs_snarkjs
def test_off_curve_point_is_rejected_by_both(tmp_path):
    sample = mul_sample(3, 11)
    proof = copy.deepcopy(sample.proof)
    proof["pi_a"][1] = str((int(proof["pi_a"][1]) + 1) % P)
    tampered = Sample(vk=sample.vk, proof=proof, public=sample.public)
    with pytest.raises(ChainError) as err:
        encoding.decode_proof(encoding.proof_from_snarkjs(proof))
    assert err.value.kind == ErrNotOnCurve
    assert _both_verdicts(tampered, tmp_path) == (False, False)


@needs_snarkjs
def test_g2_point_outside_the_subgroup_is_rejected_by_both(tmp_path):
    sample = mul_sample(3, 11)
    x0, x1, y0, y1 = _twist_point_outside_subgroup()
    proof = copy.deepcopy(sample.proof)
    proof["pi_b"] = [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]
    with pytest.raises(ChainError) as err:
        encoding.decode_proof(encoding.proof_from_snarkjs(proof))
    assert err.value.kind == ErrNotInSubgroup
    tampered = Sample(vk=sample.vk, proof=proof, public=sample.public)
    assert _both_verdicts(tampered, tmp_path) == (False, False)


@needs_snarkjs
def test_public_input_plus_r_is_rejected_by_both(tmp_path):
    sample = mul_sample(3, 11)
    shifted = Sample(
        vk=sample.vk, proof=sample.proof, public=[str(int(sample.public[0]) + encoding.R), "3"]
    )
    with pytest.raises(ValueError):  # the client-side converter refuses it already
        encoding.public_inputs_from_snarkjs(shifted.public)
    from inference_worker.zk.snarkjs import snarkjs_verify

    assert not snarkjs_verify(shifted.vk, shifted.proof, shifted.public, tmp_path)


@needs_snarkjs
def test_coordinate_plus_p_snarkjs_accepts_and_the_chain_refuses(tmp_path):
    """The one intended divergence: snarkjs reduces x + p modulo p and accepts the proof; the
    chain accepts one encoding per point (no malleable proof bytes), code 3."""
    from inference_worker.zk.snarkjs import snarkjs_verify

    sample = mul_sample(3, 11)
    proof = copy.deepcopy(sample.proof)
    proof["pi_a"][0] = str(int(proof["pi_a"][0]) + P)
    assert snarkjs_verify(sample.vk, proof, sample.public, tmp_path)
    raw = bytearray(encoding.proof_from_snarkjs(sample.proof))
    raw[:32] = (int.from_bytes(raw[:32], "big") + P).to_bytes(32, "big")
    with pytest.raises(ChainError) as err:
        encoding.decode_proof(bytes(raw))
    assert err.value.kind == ErrNonCanonical


@needs_snarkjs
@pytest.mark.slow
def test_every_flipped_proof_byte_is_rejected_by_both(tmp_path):
    from inference_worker.zk.snarkjs import snarkjs_verify

    sample = mul_sample(3, 11)
    vk_bytes, proof_bytes, public_bytes = _encode(sample)
    for index in range(0, encoding.PROOF_BYTES, 37):  # 7 positions over A, B and C
        flipped = bytearray(proof_bytes)
        flipped[index] ^= 0x01
        assert not groth16.is_accepted(vk_bytes, bytes(flipped), public_bytes)
        words = [int.from_bytes(flipped[i : i + 32], "big") for i in range(0, 256, 32)]
        proof = {
            "pi_a": [str(words[0]), str(words[1]), "1"],
            "pi_b": [[str(words[2]), str(words[3])], [str(words[4]), str(words[5])], ["1", "0"]],
            "pi_c": [str(words[6]), str(words[7]), "1"],
        }
        assert not snarkjs_verify(sample.vk, proof, sample.public, tmp_path / str(index))


# -- canonical encodings: stricter than snarkjs by design --------------------------------------


def test_coordinate_at_or_above_p_is_not_canonical():
    g1 = (1).to_bytes(32, "big") + (2).to_bytes(32, "big")  # the generator (1, 2)
    encoding.decode_g1(g1)
    with pytest.raises(ChainError) as err:
        encoding.decode_g1((1 + P).to_bytes(32, "big") + (2).to_bytes(32, "big"))
    assert err.value.kind == ErrNonCanonical


def test_public_input_at_or_above_r_is_not_canonical():
    with pytest.raises(ChainError) as err:
        encoding.decode_public_inputs(encoding.R.to_bytes(32, "big"), 1)
    assert err.value.kind == ErrNonCanonical


def test_point_at_infinity_is_not_encodable():
    with pytest.raises(ChainError) as err:
        encoding.decode_g1(bytes(64))
    assert err.value.kind == ErrNotOnCurve


@pytest.mark.parametrize("size", [0, 255, 257, 10_000])
def test_proof_of_the_wrong_size_is_refused(size):
    with pytest.raises(ChainError) as err:
        encoding.decode_proof(bytes(size))
    assert err.value.kind == ErrBadLength


def test_verifying_key_over_the_public_input_limit_is_refused():
    size = encoding.VK_FIXED_BYTES + encoding.G1_BYTES * (encoding.MAX_PUBLIC_INPUTS + 2)
    with pytest.raises(ChainError) as err:
        encoding.decode_verifying_key(bytes(size))
    assert err.value.kind == ErrBadLength


@needs_snarkjs
def test_public_input_count_must_match_the_key():
    vk_bytes, proof_bytes, public_bytes = _encode(mul_sample(3, 11))
    with pytest.raises(ChainError) as err:
        encoding.decode_public_inputs(public_bytes[:32], 2)
    assert err.value.kind == ErrPublicInputCount
    assert not groth16.is_accepted(vk_bytes, proof_bytes, public_bytes + bytes(32))


# -- batches ---------------------------------------------------------------------------------


def _item(sample: Sample, key_id: str = "mul") -> groth16.BatchItem:
    vk_bytes, proof_bytes, public_bytes = _encode(sample)
    vk = encoding.decode_verifying_key(vk_bytes)
    return groth16.BatchItem(
        key_id=key_id,
        vk=vk,
        proof=encoding.decode_proof(proof_bytes),
        inputs=encoding.decode_public_inputs(public_bytes, vk.num_public),
        digest=groth16.hashlib.sha256(vk_bytes + proof_bytes + public_bytes).digest(),
    )


def test_coefficients_are_deterministic_odd_and_depend_on_every_item():
    digests = [bytes([i]) * 32 for i in range(4)]
    one = groth16.compute_coefficients(b"seed", digests)
    assert one == groth16.compute_coefficients(b"seed", digests)
    assert all(z % 2 == 1 and 0 < z < 2**128 for z in one)
    assert groth16.compute_coefficients(b"seed", digests[:3] + [bytes(32)])[0] != one[0]
    assert groth16.compute_coefficients(b"other", digests) != one


@needs_snarkjs
def test_bisection_names_exactly_the_bad_proof_in_a_batch():
    good1, good2 = _item(mul_sample(3, 11)), _item(mul_sample(5, 7))
    bad = groth16.BatchItem(
        key_id="mul",
        vk=good1.vk,
        proof=good1.proof,
        inputs=(34, 3),
        digest=bytes(32),
    )
    assert groth16.compute_invalid_indices([good1, good2], b"seed") == ([], [])
    assert groth16.compute_invalid_indices([good1, bad, good2], b"seed") == ([1], [])


@needs_snarkjs
def test_verification_budget_leaves_the_rest_undecided():
    good1, good2 = _item(mul_sample(3, 11)), _item(mul_sample(5, 7))
    bad = groth16.BatchItem("mul", good1.vk, good1.proof, (34, 3), bytes(32))
    # the whole batch costs 3 + 3 = 6 loops and fails; then every part costs more than the 3 left
    assert groth16.compute_invalid_indices([good1, bad, good2], b"seed", budget=9) == (
        [],
        [0, 1, 2],
    )
    assert groth16.compute_invalid_indices([good1, good2], b"seed", budget=4) == ([], [1])


@needs_snarkjs
@pytest.mark.slow
def test_swapped_proofs_cancel_no_batch():
    """Two proofs valid for each other's inputs fail, and each is named."""
    s1, s2 = _item(mul_sample(3, 11)), _item(mul_sample(5, 7))
    x1 = groth16.BatchItem("mul", s1.vk, s1.proof, s2.inputs, b"a" * 32)
    x2 = groth16.BatchItem("mul", s2.vk, s2.proof, s1.inputs, b"b" * 32)
    assert groth16.compute_invalid_indices([x1, x2], b"seed") == ([0, 1], [])


# -- no input makes the verifier raise -------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    vk=st.binary(max_size=700),
    proof=st.binary(max_size=300),
    public=st.binary(max_size=100),
)
def test_no_input_makes_the_verifier_raise(vk, proof, public):
    assert groth16.is_accepted(vk, proof, public) is False


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_no_word_pattern_makes_the_decoders_raise_anything_but_chain_errors(data):
    words = data.draw(
        st.lists(st.sampled_from([0, 1, 2, 3, P - 1, P, 2**256 - 1]), min_size=4, max_size=4)
    )
    raw = b"".join(w.to_bytes(32, "big") for w in words)
    for decode in (encoding.decode_g1, encoding.decode_g2):
        try:
            decode(raw[:64] if decode is encoding.decode_g1 else raw)
        except ChainError:
            pass
