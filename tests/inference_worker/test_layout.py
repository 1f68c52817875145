"""The worker's layout keeps its promises: imports go one way (node/ may use pipeline/ and verify/,
never the reverse), pure compute imports no networking, and no file outside node/ reaches the chain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "inference_worker"
NETWORKING = ("grpc", "aiohttp", "websockets", "socket", "inference_worker.pipeline.link")
PURE = ("pipeline/shard.py", "pipeline/codec.py", "pipeline/generate.py", "pipeline/placement.py",
        "verify/fingerprint.py", "verify/reveal.py", "verify/tolerances.py",
        "verify/output_check.py", "models.py")  # fmt: skip


def imported(path: Path) -> set[str]:
    """Every module `path` imports (absolute names), at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def files(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).glob("*.py"))


@pytest.mark.parametrize("folder", ["pipeline", "verify"])
def test_pipeline_and_verify_never_import_the_lifecycle(folder):
    assert files(folder), f"inference_worker/{folder}/ is empty"
    for path in files(folder):
        bad = {n for n in imported(path) if n.startswith("inference_worker.node")}
        assert not bad, f"{path.relative_to(PACKAGE)} imports the lifecycle: {sorted(bad)}"


@pytest.mark.parametrize("name", PURE)
def test_pure_compute_imports_no_networking(name):
    names = imported(PACKAGE / name)
    bad = {n for n in names if n.split(".")[0] in NETWORKING or n in NETWORKING}
    assert not bad, f"{name} imports networking: {sorted(bad)}"


def test_only_the_lifecycle_talks_to_the_chain_client():
    talking = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if any(n.startswith("chain.client") for n in imported(path))
    ]
    assert talking and all(name.startswith("node/") for name in talking), talking


def test_the_layout_checks_see_a_violation(tmp_path):
    """The import scan is not vacuous: a file that imports the lifecycle is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("from inference_worker.node.worker import Worker\n")
    assert "inference_worker.node.worker" in imported(bad)
