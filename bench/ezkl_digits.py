"""EZKL on the digits MLP, for bench/bench_zk.py's comparison column. NOT a project dependency:
run by the python of a throwaway venv (~/.cache/infera/bench-ezkl-<version>/, ezkl + onnx from
PyPI), never imported by Infera.

    <venv>/bin/python bench/ezkl_digits.py WEIGHTS.json WORKDIR  -> one JSON object on stdout

WEIGHTS.json: {"w1": (32, 64), "b1": (32,), "w2": (10, 32), "b2": (10,), "images": [[64 x 0..16]]}
(the float model that bench_zk.py trains; inputs are pixels / 16 as in training). The ONNX graph
is written with onnx.helper (Gemm, Relu, Gemm). EZKL's defaults: input private, output public,
weights fixed (baked in, as in Infera's circuit); settings calibrated for resources on the
images; the SRS is generated locally (gen_srs: for testing, like Infera's dev ptau).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import ezkl
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _sync(value):
    return asyncio.run(value) if asyncio.iscoroutine(value) else value


def build_onnx(w: dict, path: Path) -> None:
    inits = [
        numpy_helper.from_array(np.asarray(w[name], dtype=np.float32), name)
        for name in ("w1", "b1", "w2", "b2")
    ]
    nodes = [
        helper.make_node("Gemm", ["input", "w1", "b1"], ["z1"], transB=1),
        helper.make_node("Relu", ["z1"], ["h"]),
        helper.make_node("Gemm", ["h", "w2", "b2"], ["output"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "digits",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = _sync(fn(*args, **kwargs))
    return out, time.perf_counter() - start


def main() -> None:
    weights = json.loads(Path(sys.argv[1]).read_text())
    work = Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    f = {k: str(work / k) for k in ("model.onnx", "settings.json", "model.compiled", "kzg.srs",
                                    "vk.key", "pk.key", "proof.json", "cal.json")}  # fmt: skip
    build_onnx(weights, Path(f["model.onnx"]))
    images = [[v / 16.0 for v in img] for img in weights["images"]]
    Path(f["cal.json"]).write_text(json.dumps({"input_data": [sum(images[:8], [])]}))
    _sync(ezkl.gen_settings(f["model.onnx"], f["settings.json"]))
    (_, calibrate_s) = timed(ezkl.calibrate_settings, f["cal.json"], f["model.onnx"],
                             f["settings.json"], "resources")  # fmt: skip
    _sync(ezkl.compile_circuit(f["model.onnx"], f["model.compiled"], f["settings.json"]))
    settings = json.loads(Path(f["settings.json"]).read_text())
    logrows = int(settings["run_args"]["logrows"])
    _, srs_s = timed(ezkl.gen_srs, f["kzg.srs"], logrows)
    _, setup_s = timed(ezkl.setup, f["model.compiled"], f["vk.key"], f["pk.key"], f["kzg.srs"])
    prove_s, verify_s, sizes = [], [], []
    for i, image in enumerate(images[:3]):
        data, wit = str(work / f"in{i}.json"), str(work / f"wit{i}.json")
        Path(data).write_text(json.dumps({"input_data": [image]}))
        _sync(ezkl.gen_witness(data, f["model.compiled"], wit))
        proof_path = str(work / f"proof{i}.json")
        _, seconds = timed(ezkl.prove, wit, f["model.compiled"], f["pk.key"], proof_path,
                           f["kzg.srs"])  # fmt: skip
        prove_s.append(round(seconds, 3))
        ok, seconds = timed(ezkl.verify, proof_path, f["settings.json"], f["vk.key"], f["kzg.srs"])
        assert ok
        verify_s.append(round(seconds, 3))
        proof = json.loads(Path(proof_path).read_text())
        raw = proof.get("proof")
        sizes.append(len(raw) if isinstance(raw, list) else len(bytes.fromhex(str(raw)[2:])))
    print(json.dumps({
        "ezkl_version": ezkl.__version__,
        "logrows": logrows,
        "calibrate_s": round(calibrate_s, 2),
        "srs_s": round(srs_s, 2),
        "setup_s": round(setup_s, 2),
        "prove_s (witness excluded)": prove_s,
        "verify_s": verify_s,
        "proof_bytes": sizes,
        "proving_key_bytes": os.path.getsize(f["pk.key"]),
        "verifying_key_bytes": os.path.getsize(f["vk.key"]),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
