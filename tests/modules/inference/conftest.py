"""Fixtures: a chain with model "m" served by six workers (see tests/modules/jobs.py)."""

from __future__ import annotations

import pytest

from tests.modules.jobs import make_job_chain


@pytest.fixture
def node(tmp_path):
    chain_ = make_job_chain(tmp_path / "node")
    yield chain_
    chain_.store.close()


@pytest.fixture
def submitter(node):
    return node.keys[7]
