"""A tiny circom circuit with dev keys and cached snarkjs proofs, shared by the zk tests."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from inference_worker.zk import snarkjs

# c = a * b with a public: public signals are [c, a] (outputs first, as snarkjs orders them).
MUL_CIRCOM = """pragma circom 2.0.0;
template Mul() { signal input a; signal input b; signal output c; c <== a * b; }
component main {public [a]} = Mul();
"""

needs_snarkjs = pytest.mark.skipif(
    not snarkjs.is_available(), reason="snarkjs/circom2 not installed (make install)"
)


@dataclass(frozen=True)
class Sample:
    vk: dict[str, Any]
    proof: dict[str, Any]
    public: list[str]


def cached_proof(circuit: snarkjs.Circuit, inputs: dict[str, Any]) -> tuple[dict, list]:
    """snarkjs' proof of ``inputs``, cached beside the circuit's keys (proving is ~0.8 s)."""
    tag = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    folder = circuit.folder / "proofs" / tag
    if not (folder / "public.json").exists():
        snarkjs.SnarkjsProver().prove(circuit, inputs, folder)
    return json.loads((folder / "proof.json").read_text()), json.loads(
        (folder / "public.json").read_text()
    )


def mul_sample(a: int, b: int, entropy: str = snarkjs.DEV_ENTROPY) -> Sample:
    circuit = snarkjs.compile_circuit(MUL_CIRCOM, "mul", entropy=entropy)
    proof, public = cached_proof(circuit, {"a": a, "b": b})
    return Sample(vk=circuit.verification_key(), proof=proof, public=public)


def workdir(tmp: Path, name: str) -> Path:
    return tmp / name
