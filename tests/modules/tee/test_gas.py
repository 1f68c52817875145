"""The default per-type gas covers the verification cost bench/bench_tee.py measured."""

from __future__ import annotations

import json
import pathlib

import pytest

from modules.tee.params import default_params

RESULTS = pathlib.Path(__file__).resolve().parents[3] / "bench" / "results" / "tee.json"


@pytest.mark.skipif(not RESULTS.exists(), reason="run bench/bench_tee.py first")
def test_default_gas_covers_the_measured_cost() -> None:
    rows = json.loads(RESULTS.read_text())["rows"]
    params = default_params()
    gas = {"TDX": params.gas_intel, "SGX": params.gas_intel, "SNP": params.gas_snp,
           "NVIDIA": params.gas_nvidia, "INSECURE_TEST": params.gas_insecure_test}  # fmt: skip
    for name, row in rows.items():
        assert gas[name] >= row["needed_gas"], (name, gas[name], row["needed_gas"])
