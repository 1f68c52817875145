"""Fixtures: a chain with test-sized workers params."""

from __future__ import annotations

import pytest

from tests.modules.serving import make_chain


@pytest.fixture
def node(tmp_path):
    chain_ = make_chain(tmp_path / "node")
    yield chain_
    chain_.store.close()
