"""The digits MLP compiled to circom: the circuit's public class equals the integer reference, its
proof verifies on chain (py-ecc) and a changed class does not; accuracy float vs quantized."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference_worker.zk import circuit, digits, snarkjs
from modules.zk import encoding, groth16

needs_tools = pytest.mark.skipif(
    not (snarkjs.is_available() and digits.is_available()),
    reason="snarkjs/circom2 or scikit-learn's digits not installed (make install)",
)


def _tiny() -> digits.QuantMLP:
    w1 = [[(i * 7 + j * 3) % 9 - 4 for i in range(64)] for j in range(32)]
    w2 = [[(k * 5 + j) % 7 - 3 for j in range(32)] for k in range(10)]
    return digits.QuantMLP(
        w1=w1, b1=[j - 16 for j in range(32)], shift=3, w2=w2, b2=list(range(10))
    )


def test_compiled_source_is_deterministic_and_pins_the_weights():
    q = _tiny()
    assert circuit.compile_mlp(q) == circuit.compile_mlp(q)
    changed = digits.QuantMLP(w1=q.w1, b1=q.b1, shift=q.shift, w2=q.w2, b2=[0] * 10)
    assert circuit.compile_mlp(changed) != circuit.compile_mlp(q)


def test_rescale_relu_reference_floors_after_relu():
    q = digits.QuantMLP(
        w1=[[1] + [0] * 63, [-1] + [0] * 63], b1=[0, 0], shift=2, w2=[[1, 1]], b2=[0]
    )
    assert q.hidden([13] + [0] * 63) == [3, 0]  # 13 >> 2, relu(-13) = 0


def test_network_too_large_for_32_bit_range_checks_is_refused():
    huge = digits.QuantMLP(w1=[[2**26] * 64], b1=[0], shift=0, w2=[[1]], b2=[0])
    with pytest.raises(ValueError):
        circuit.compile_mlp(huge)


@pytest.fixture(scope="module")
def digits_circuit():
    x, y = digits.load_digits()
    xt, yt, xs, ys = digits.split(x, y)
    model = digits.train(xt, yt)
    q = digits.quantize(model, xt)
    return q, snarkjs.compile_circuit(circuit.compile_mlp(q), "mlp"), xs, ys, model


@needs_tools
@pytest.mark.slow
def test_digits_proof_matches_the_reference_and_verifies_on_chain(digits_circuit, tmp_path):
    q, circ, xs, ys, model = digits_circuit
    assert circ.constraints <= 5_000
    pixels = xs[0].tolist()
    result = snarkjs.SnarkjsProver().prove(circ, circuit.witness_input(pixels), tmp_path)
    assert int(result.public[0]) == q.predict(pixels)
    vk = encoding.verifying_key_from_snarkjs(circ.verification_key())
    proof = encoding.proof_from_snarkjs(result.proof)
    assert len(proof) == 256
    public = encoding.public_inputs_from_snarkjs(result.public)
    assert groth16.is_accepted(vk, proof, public)
    other = str((int(result.public[0]) + 1) % 10)
    assert not groth16.is_accepted(
        vk, proof, encoding.public_inputs_from_snarkjs([other, result.public[1]])
    )
    (tmp_path / "figures.json").write_text(json.dumps({"prove_s": result.seconds}))


@needs_tools
@pytest.mark.slow
def test_quantized_accuracy_is_within_two_points_of_float(digits_circuit):
    q, _, xs, ys, model = digits_circuit
    float_acc = float((model.predict(xs) == ys).mean())
    quant_acc = digits.accuracy_quant(q, xs, ys)
    assert float_acc > 0.9
    assert quant_acc >= float_acc - 0.02


def test_conv_as_dense_is_the_convolution():
    import torch

    kernels = np.array([[[1, -2, 3], [0, 4, -1], [2, 2, -3]], [[-1, 0, 1], [5, -5, 0], [1, 1, 1]]])
    images = np.array([[(i * 7 + k) % 17 for i in range(64)] for k in range(3)])
    dense = digits.conv_as_dense(kernels.astype(np.float64))  # (72, 64)
    conv = torch.nn.functional.conv2d(
        torch.tensor(images.reshape(-1, 1, 8, 8), dtype=torch.float64),
        torch.tensor(kernels[:, None], dtype=torch.float64),
    )  # (3, 2, 6, 6): small integers, exact in float64 whatever the kernel
    assert np.array_equal(images @ dense.T, conv.flatten(1).numpy())


@needs_tools
@pytest.mark.slow
def test_digits_cnn_proof_matches_the_reference_and_verifies_on_chain(tmp_path):
    x, y = digits.load_digits()
    xt, yt, xs, ys = digits.split(x, y)
    model = digits.train_cnn(xt, yt)
    q = digits.quantize_cnn(model, xt)
    assert digits.accuracy_quant(q, xs, ys) >= float((model.predict(xs) == ys).mean()) - 0.02
    circ = snarkjs.compile_circuit(circuit.compile_mlp(q), "mlp")
    assert circ.constraints <= 5_000
    prover = snarkjs.WarmSnarkjsProver()
    try:
        for i in range(2):
            pixels = xs[i].tolist()
            result = prover.prove(circ, circuit.witness_input(pixels), tmp_path / str(i))
            assert int(result.public[0]) == q.predict(pixels)
            assert groth16.is_accepted(
                encoding.verifying_key_from_snarkjs(circ.verification_key()),
                encoding.proof_from_snarkjs(result.proof),
                encoding.public_inputs_from_snarkjs(result.public),
            )
    finally:
        prover.close()
