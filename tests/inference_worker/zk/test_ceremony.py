"""`snarkjs zkey verify` as the ceremony check: a two-contribution phase 2 is accepted with its
contributors in order and its exported key; a tampered zkey and a zkey for another circuit are
refused (snarkjs 0.7.6 exits 0 on some failures: the verdict is read from its output)."""

from __future__ import annotations

import pytest

from inference_worker.zk import snarkjs
from tests.modules.zk.fixtures import MUL_CIRCOM, needs_snarkjs

OTHER_CIRCOM = MUL_CIRCOM.replace("c <== a * b;", "c <== a * b + a;")


def two_party_zkey(circ: snarkjs.Circuit, folder) -> tuple:
    """k0.zkey (setup, no contribution) -> alice -> bob; returns (after alice, after bob)."""
    folder.mkdir(parents=True, exist_ok=True)
    one, two = folder / "alice.zkey", folder / "bob.zkey"
    snarkjs.contribute(circ.folder / "k0.zkey", one, "alice", "alice's secret entropy")
    snarkjs.contribute(one, two, "bob", "bob's secret entropy")
    return one, two


@needs_snarkjs
def test_a_two_party_ceremony_verifies_and_a_tampered_one_does_not(tmp_path):
    circ = snarkjs.compile_circuit(MUL_CIRCOM, "mul")
    r1cs, ptau = circ.folder / "mul.r1cs", snarkjs.ptau_path()
    _, final = two_party_zkey(circ, tmp_path / "ceremony")
    ceremony = snarkjs.verify_ceremony(r1cs, ptau, final, tmp_path / "v")
    assert ceremony.contributions == ("alice", "bob")
    assert ceremony.vk["nPublic"] == 2 and ceremony.vk != circ.verification_key()
    tampered = tmp_path / "tampered.zkey"
    data = bytearray(final.read_bytes())
    data[len(data) - 1000] ^= 1  # one bit of the last section (the H query)
    tampered.write_bytes(bytes(data))
    with pytest.raises(snarkjs.CeremonyError):
        snarkjs.verify_ceremony(r1cs, ptau, tampered, tmp_path / "t")
    other = snarkjs.compile_circuit(OTHER_CIRCOM, "mul")
    with pytest.raises(snarkjs.CeremonyError):  # a valid zkey, but for another circuit
        snarkjs.verify_ceremony(other.folder / "mul.r1cs", ptau, final, tmp_path / "o")
