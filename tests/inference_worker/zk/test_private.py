"""The CNN with private weights: the proof's class equals the integer reference, its weights
commitment is the same for every image and changes with one weight, py-ecc verifies it, and the
chain's weights rule refuses a valid proof made with other weights."""

from __future__ import annotations

import dataclasses

import chain.pb  # noqa: F401

import pytest

from infera.zk.v1 import types_pb2
from inference_worker.zk import digits, private, snarkjs
from modules.zk import encoding, groth16, logic
from tests.inference_worker.zk.test_circuit import needs_tools


def test_weights_outside_the_range_checks_are_refused():
    model = private.PrivateCnn(kernels=[[128] * 9], kernel_bias=[0], w2=[[1] * 36] * 10,
                               b2=[0] * 10, shift=0)  # fmt: skip
    with pytest.raises(ValueError):
        private.check_fits(model)


@needs_tools
@pytest.mark.slow  # the first run makes a 2^14 powers of tau (minutes); then ~60 s
def test_private_weight_proof_commits_to_the_weights_and_verifies(tmp_path):
    x, y = digits.load_digits()
    xt, yt, xs, _ = digits.split(x, y)
    q = digits.quantize_cnn(digits.train_cnn(xt, yt), xt)
    model = private.from_quantized(q)
    private.check_fits(model)
    circ = snarkjs.compile_circuit(
        private.compile_private_cnn(model.channels, model.shift), "pcnn", power=14
    )
    vk = encoding.verifying_key_from_snarkjs(circ.verification_key())
    changed = dataclasses.replace(model, w2=[[model.w2[0][0] ^ 1, *model.w2[0][1:]], *model.w2[1:]])
    prover = snarkjs.WarmSnarkjsProver()
    try:
        results = [
            prover.prove(circ, private.witness_input(model, xs[i].tolist()), tmp_path / str(i))
            for i in range(2)
        ]
        forged = prover.prove(circ, private.witness_input(changed, xs[0].tolist()), tmp_path / "f")
    finally:
        prover.close()
    for i, result in enumerate(results):
        assert int(result.public[0]) == q.predict(xs[i].tolist())
        assert groth16.is_accepted(
            vk,
            encoding.proof_from_snarkjs(result.proof),
            encoding.public_inputs_from_snarkjs(result.public),
        )
    assert results[0].public[1] == results[1].public[1]  # one commitment to the weights
    other = snarkjs.public_signals(
        circ, private.witness_input(changed, xs[0].tolist()), tmp_path / "c"
    )
    assert other[1] != results[0].public[1]
    # The chain's rule (modules/zk/logic.py): a PRIVATE key registered with the owner's
    # commitment takes the owner's proofs and refuses a proof made with other weights, though
    # that proof verifies under the very same key (the key alone pins no model).
    key = types_pb2.VerifyingKey(
        num_public=3,
        weights=types_pb2.WEIGHTS_MODE_PRIVATE,
        weights_commitment=int(results[0].public[1]).to_bytes(32, "big"),
    )
    assert logic.is_valid_weights(key.weights, key.weights_commitment, key.num_public)
    for result in results:
        assert logic.is_weights_bound(key, encoding.public_inputs_from_snarkjs(result.public))
    forged_inputs = encoding.public_inputs_from_snarkjs(forged.public)
    assert groth16.is_accepted(vk, encoding.proof_from_snarkjs(forged.proof), forged_inputs)
    assert forged.public[1] == other[1]
    assert not logic.is_weights_bound(key, forged_inputs)
