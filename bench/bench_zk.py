"""Benchmark: zero-knowledge proofs of the 64-32-10 digits MLP, proved by snarkjs, verified by py-ecc.

One run: train and quantize the model, compile the circuit (constraints), make dev keys, prove
``--proofs`` test images (snarkjs groth16 fullprove: witness + proof, wall time including node's
start-up), then py-ecc: G2 subgroup check, one single Groth16 check, and batch checks of 1, 8 and
32 proofs (as the end-block batch runs them), and the proofs per block the default gas allows.
Float and quantized accuracy on the 20 % test split. Writes bench/results/zk.json.

    python bench/bench_zk.py              # 8 proofs, batches of 1, 8, 32
    python bench/bench_zk.py --quick      # 2 proofs, batches of 1 and 8

EZKL is not compared here: it was not installed in this environment (issue 15's anchor measured
EZKL 23.0.5 on the same network: prove 8.6 s, proof 3,840 B, proving key 329 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from inference_worker.zk import circuit, digits, snarkjs  # noqa: E402
from modules.zk import encoding, groth16, logic, params  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "zk.json"
BLOCK_MAX_GAS = 100_000_000  # genesis/presets/standard.json


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_proofs, batches = (2, [1, 8]) if args.quick else (8, [1, 8, 32])
    x, y = digits.load_digits()
    xt, yt, xs, ys = digits.split(x, y)
    model = digits.train(xt, yt)
    q = digits.quantize(model, xt)
    circ, setup_s = _timed(snarkjs.compile_circuit, circuit.compile_mlp(q), "mlp")
    vk_bytes = encoding.verifying_key_from_snarkjs(circ.verification_key())
    vk = encoding.decode_verifying_key(vk_bytes)
    items, prove_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n_proofs):
            pixels = xs[i].tolist()
            res = snarkjs.SnarkjsProver().prove(
                circ, circuit.witness_input(pixels), pathlib.Path(tmp) / str(i)
            )
            prove_s.append(res.seconds)
            proof_bytes = encoding.proof_from_snarkjs(res.proof)
            public = encoding.public_inputs_from_snarkjs(res.public)
            items.append(
                groth16.BatchItem(
                    key_id="mlp",
                    vk=vk,
                    proof=encoding.decode_proof(proof_bytes),
                    inputs=encoding.decode_public_inputs(public, vk.num_public),
                    digest=logic.compute_item_digest(vk_bytes, proof_bytes, public),
                )
            )
    _, subgroup_s = _timed(encoding.decode_proof, proof_bytes)
    ok, single_s = _timed(groth16.is_valid_proof, vk, items[0].proof, items[0].inputs)
    assert ok
    batch = {}
    for n in batches:
        chosen = [items[i % len(items)] for i in range(n)]
        (bad, undecided), seconds = _timed(groth16.compute_invalid_indices, chosen, b"bench")
        assert bad == [] and undecided == []
        batch[str(n)] = {"total_s": round(seconds, 3), "per_proof_s": round(seconds / n, 3)}
    p = params.default_params()
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "model": "64-32-10 MLP, sklearn digits, int8 weights",
        "float_accuracy": round(float((model.predict(xs) == ys).mean()), 4),
        "quantized_accuracy": round(digits.accuracy_quant(q, xs, ys), 4),
        "constraints": circ.constraints,
        "public_inputs": vk.num_public,
        "setup_s (compile + dev keys, cached after the first run)": round(setup_s, 2),
        "prove_s": [round(s, 3) for s in prove_s],
        "proof_bytes": encoding.PROOF_BYTES,
        "verifying_key_bytes": len(vk_bytes),
        "proof_decode_with_g2_subgroup_check_s": round(subgroup_s, 3),
        "single_verify_s": round(single_s, 3),
        "batch_verify": batch,
        "proofs_per_block_by_gas": BLOCK_MAX_GAS // p.verify_gas,
        "proofs_per_block_cap": p.max_proofs_per_block,
        "ezkl": "not installed in this run (issue anchor: prove 8.6 s, proof 3,840 B)",
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
