"""Shared fixtures."""

from __future__ import annotations

import pytest

from tests.harness import TestChain


@pytest.fixture
def chain_(tmp_path) -> TestChain:
    """A fresh single-validator chain with four funded accounts, genesis loaded."""
    c = TestChain(tmp_path / "a")
    c.init()
    c.block()
    yield c
    c.store.close()


@pytest.fixture
def twin(tmp_path) -> TestChain:
    """A second, identical chain: a block with a rejected tx must equal an empty block on it."""
    c = TestChain(tmp_path / "b")
    c.init()
    c.block()
    yield c
    c.store.close()
