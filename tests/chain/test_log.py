"""Logging set up while stderr is swapped (a CLI runner, pytest's capture) keeps working after the
swapped stream is closed: lines go to the stderr of the moment."""

from __future__ import annotations

import io
import sys

import pytest
import structlog

from chain.log import setup_logging


@pytest.fixture(autouse=True)
def default_logging():
    yield
    setup_logging()  # the next tests log to the stderr of their moment again


def test_log_lines_follow_stderr_after_the_stream_logging_was_set_up_with_is_closed(monkeypatch):
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", swapped)
    setup_logging("info", "json")
    structlog.get_logger("t").info("first")
    assert '"event": "first"' in swapped.getvalue()
    swapped.close()
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)
    structlog.get_logger("t").info("second")  # raised "I/O operation on closed file" before
    assert '"event": "second"' in later.getvalue()


def test_an_explicit_stream_is_kept():
    out = io.StringIO()
    setup_logging("info", "json", stream=out)
    structlog.get_logger("t").info("kept")
    assert '"event": "kept"' in out.getvalue()
