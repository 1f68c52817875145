"""Benchmark: zero-knowledge proofs of the 64-32-10 digits MLP, proved by snarkjs, verified by py-ecc.

One run: train and quantize the model, compile the circuit (constraints), make dev keys, prove
8 test images twice: cold (snarkjs groth16 fullprove: witness + proof, node's start-up included)
and warm (WarmSnarkjsProver, the worker's prover: one node process keeps snarkjs, the witness
generator, the zkey and the curve loaded), with a profile of the cold path; then py-ecc: G2 subgroup check, one single Groth16 check, and batch checks of 1, 8 and
32 proofs (as the end-block batch runs them), and the proofs per block the default gas allows.
Float and quantized accuracy on the 20 % test split. Writes bench/results/zk.json.

    python bench/bench_zk.py              # 8 proofs, batches of 1, 8, 32
    python bench/bench_zk.py --quick      # 2 proofs, batches of 1 and 8

EZKL 23.0.5 runs on the same float network when its throwaway venv exists (`_ezkl`,
bench/ezkl_digits.py; never a project dependency); otherwise the column says skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
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


def _profile_cold(circ: snarkjs.Circuit, inputs: dict, tmp: pathlib.Path) -> dict:
    """Where a cold fullprove's time goes: node + loading snarkjs, then the CLI's witness
    (`wtns calculate`) and proof (`groth16 prove`) as two separate cold commands."""
    sj = str(snarkjs.snarkjs_path())
    main_cjs = snarkjs.cache_dir() / snarkjs.TOOLS_KEY / "node_modules/snarkjs/build/main.cjs"
    (tmp / "in.json").write_text(json.dumps(inputs))
    _, node_s = _timed(subprocess.run, ["node", "-e", f"require({str(main_cjs)!r})"])
    _, wtns_s = _timed(subprocess.run, [sj, "wtns", "calculate", str(circ.wasm),
                                        str(tmp / "in.json"), str(tmp / "w.wtns")])  # fmt: skip
    _, prove_s = _timed(subprocess.run, [sj, "groth16", "prove", str(circ.zkey),
                                         str(tmp / "w.wtns"), str(tmp / "p.json"),
                                         str(tmp / "pub.json")])  # fmt: skip
    return {"node_start_and_require_snarkjs_s": round(node_s, 3),
            "cli_wtns_calculate_s": round(wtns_s, 3), "cli_groth16_prove_s": round(prove_s, 3)}  # fmt: skip


def _cnn(xt, yt, xs, ys, n_proofs: int) -> dict:
    """The small CNN: accuracy float vs quantized, constraints, warm prove, one py-ecc check."""
    model = digits.train_cnn(xt, yt)
    q = digits.quantize_cnn(model, xt)
    circ = snarkjs.compile_circuit(circuit.compile_mlp(q), "mlp")
    warm = snarkjs.WarmSnarkjsProver()
    with tempfile.TemporaryDirectory() as tmp:
        warm.start(circ)
        runs = [
            warm.prove(circ, circuit.witness_input(xs[i].tolist()), pathlib.Path(tmp) / str(i))
            for i in range(n_proofs)
        ]
    warm.close()
    assert all(r.public[0] == str(q.predict(xs[i].tolist())) for i, r in enumerate(runs))
    vk = encoding.verifying_key_from_snarkjs(circ.verification_key())
    proof, public = (encoding.proof_from_snarkjs(runs[0].proof),
                     encoding.public_inputs_from_snarkjs(runs[0].public))  # fmt: skip
    ok, verify_s = _timed(groth16.is_accepted, vk, proof, public)
    assert ok
    return {
        "channels": digits.CNN_CHANNELS,
        "float_accuracy": round(float((model.predict(xs) == ys).mean()), 4),
        "quantized_accuracy": round(digits.accuracy_quant(q, xs, ys), 4),
        "constraints": circ.constraints,
        "prove_warm_s": [round(r.seconds, 3) for r in runs],
        "single_verify_s (decode included)": round(verify_s, 3),
        "proof_bytes": len(proof),
    }


EZKL_VERSION = "23.0.5"
EZKL_VENV = pathlib.Path.home() / ".cache" / "infera" / f"bench-ezkl-{EZKL_VERSION}"


def _ezkl(model: digits.FloatMLP, xs) -> dict | str:
    """bench/ezkl_digits.py in EZKL's throwaway venv on the same float model (skipped if absent:
    ``python3 -m venv <EZKL_VENV> && <EZKL_VENV>/bin/pip install ezkl==23.0.5 onnx``)."""
    python = EZKL_VENV / "bin" / "python"
    if not python.exists():
        return f"skipped: no {EZKL_VENV} (issue anchor, not re-run: prove 8.6 s, proof 3,840 B)"
    with tempfile.TemporaryDirectory() as tmp:
        weights = pathlib.Path(tmp) / "weights.json"
        weights.write_text(json.dumps({"w1": model.w1.tolist(), "b1": model.b1.tolist(),
                                       "w2": model.w2.tolist(), "b2": model.b2.tolist(),
                                       "images": xs[:8].tolist()}))  # fmt: skip
        script = pathlib.Path(__file__).with_name("ezkl_digits.py")
        done = subprocess.run([str(python), str(script), str(weights), str(pathlib.Path(tmp) / "w")],
                              capture_output=True, text=True, timeout=1800)  # fmt: skip
    if done.returncode != 0:
        return f"failed: {done.stderr[-500:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


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
    warm = snarkjs.WarmSnarkjsProver()
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
        profile = _profile_cold(circ, circuit.witness_input(xs[0].tolist()), pathlib.Path(tmp))
        warm_start_s = warm.start(circ)
        warm_runs = [
            warm.prove(circ, circuit.witness_input(xs[i].tolist()), pathlib.Path(tmp) / f"w{i}")
            for i in range(n_proofs)
        ]
        warm.close()
    assert all(r.public[0] == str(q.predict(xs[i].tolist())) for i, r in enumerate(warm_runs))
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
        "prove_s (cold: snarkjs groth16 fullprove, one node process per proof)": [
            round(s, 3) for s in prove_s
        ],
        "prove_cold_profile_s": profile,
        "prove_warm_s (WarmSnarkjsProver: prover.cjs keeps snarkjs, wasm, zkey, curve loaded)": {
            "start_once_s": round(warm_start_s, 3),
            "per_proof_s": [round(r.seconds, 3) for r in warm_runs],
            "witness_s": [round(r.witness_seconds, 3) for r in warm_runs],
            "groth16_prove_s": [round(r.prove_seconds, 3) for r in warm_runs],
        },
        "proof_bytes": encoding.PROOF_BYTES,
        "verifying_key_bytes": len(vk_bytes),
        "proof_decode_with_g2_subgroup_check_s": round(subgroup_s, 3),
        "single_verify_s": round(single_s, 3),
        "batch_verify": batch,
        "proofs_per_block_by_gas": BLOCK_MAX_GAS // p.verify_gas,
        "proofs_per_block_cap": p.max_proofs_per_block,
        "cnn (conv 3x3 x2 + ReLU + dense, same circuit compiler)": _cnn(xt, yt, xs, ys, n_proofs),
        "ezkl": _ezkl(model, xs),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
