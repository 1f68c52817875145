"""Both provers behind the one interface give proofs the chain verifies, with the same public
signals for the same input; the warm prover survives a bad input; a job's digits payload and
prompt round-trip ASCII-exactly."""

from __future__ import annotations

import pytest

from inference_worker.node.zk_worker import digits_inputs, digits_prompt, payload_of
from inference_worker.zk import circuit, digits, snarkjs
from modules.zk import encoding, groth16, logic
from tests.modules.zk.fixtures import MUL_CIRCOM, needs_snarkjs

IMAGE = [(i * 5) % 17 for i in range(64)]


def _verifies(circ: snarkjs.Circuit, result: snarkjs.ProofResult) -> bool:
    return groth16.is_accepted(
        encoding.verifying_key_from_snarkjs(circ.verification_key()),
        encoding.proof_from_snarkjs(result.proof),
        encoding.public_inputs_from_snarkjs(result.public),
    )


@needs_snarkjs
def test_warm_and_cold_provers_agree_and_the_chain_verifies_both(tmp_path):
    circ = snarkjs.compile_circuit(MUL_CIRCOM, "mul")
    warm = snarkjs.WarmSnarkjsProver()
    try:
        results = [warm.prove(circ, {"a": 3, "b": b}, tmp_path / f"w{b}") for b in (11, 12)]
        with pytest.raises(RuntimeError):
            warm.prove(circ, {"a": 3}, tmp_path / "bad")  # b missing: an error, not a hang
        again = warm.prove(circ, {"a": 3, "b": 13}, tmp_path / "w13")  # still serving
    finally:
        warm.close()
    cold = snarkjs.SnarkjsProver().prove(circ, {"a": 3, "b": 11}, tmp_path / "cold")
    assert results[0].public == cold.public == ["33", "3"]
    assert results[1].public == ["36", "3"] and again.public == ["39", "3"]
    assert all(_verifies(circ, r) for r in (*results, again, cold))
    assert snarkjs.public_signals(circ, {"a": 3, "b": 12}, tmp_path / "wit") == ["36", "3"]


def test_digits_payload_round_trips_and_is_ascii_exact():
    assert digits.decode_pixels(digits.encode_pixels(IMAGE)) == IMAGE
    for bad in ("g" * 63, "h" * 64, "G" * 64, "٣" * 64, "0" * 65):
        with pytest.raises(ValueError):
            digits.decode_pixels(bad)
    with pytest.raises(ValueError):
        digits.encode_pixels([17] * 64)


def test_digits_prompt_declares_its_commitment():
    prompt = digits_prompt(12345, IMAGE)
    assert logic.compute_declared_input(prompt) == 12345
    assert digits_inputs(payload_of(prompt)) == circuit.witness_input(IMAGE)
