"""Logging set-up for the node and the CLI (structlog).

- ``setup_logging(level, fmt)``: JSON lines (one object per line, for machines and log shippers)
  when ``fmt == "json"`` or when ``fmt == "auto"`` and stderr is not a terminal; coloured,
  human-readable console lines otherwise. Logs go to stderr so command output on stdout stays
  clean for scripts.
- ``relay_cometbft_line(line)``: CometBFT runs as a child process writing JSON log lines
  (``log_format = "json"`` in config.toml); each one is re-emitted through structlog under the
  logger name ``cometbft`` with its level, message and fields, so a node has one log stream.

Chain code only calls ``structlog.get_logger(...)``; only process code (CLI, node) calls this.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO, cast

import structlog

LEVELS = ("debug", "info", "warning", "error", "critical")
FORMATS = ("auto", "json", "console")

# CometBFT level names -> ours (it logs "debug", "info", "error"; "warn" in some libraries).
_COMET_LEVELS = {"debug": "debug", "info": "info", "warn": "warning", "error": "error"}
# Fields of CometBFT's JSON log lines that we map ourselves rather than pass through.
_COMET_RESERVED = ("_msg", "msg", "level", "ts")


def setup_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog for this process (call once, early; calling again reconfigures)."""
    level = level.lower()
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; choose one of {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = stream or sys.stderr
    as_json = fmt == "json" or (fmt == "auto" and not _is_tty(out))
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=_is_tty(out))
    )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info if as_json else _keep_exc_info,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=_NamedPrintLoggerFactory(stream or cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _keep_exc_info(logger: Any, name: str, event: dict[str, Any]) -> dict[str, Any]:
    """The console renderer formats tracebacks itself (prettily); leave ``exc_info`` to it."""
    return event


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is when a line is logged, not when logging was set up: a
    caller that swaps stderr for a while (a CLI runner, pytest's capture) and closes its stream
    afterwards would otherwise leave every later log line raising on a closed file."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _NamedPrintLogger(structlog.PrintLogger):
    """A ``PrintLogger`` that remembers the name given to ``get_logger(name)``."""

    def __init__(self, file: TextIO, name: str | None) -> None:
        super().__init__(file)
        self.name = name


class _NamedPrintLoggerFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _NamedPrintLogger:
        return _NamedPrintLogger(self._file, args[0] if args else None)


def _add_logger_name(logger: Any, name: str, event: dict[str, Any]) -> dict[str, Any]:
    """Add ``logger`` (the name passed to ``get_logger``) unless the caller set one."""
    logger_name = getattr(logger, "name", None)
    if logger_name and "logger" not in event:
        event["logger"] = logger_name
    return event


def relay_cometbft_line(line: str, logger: Any | None = None) -> None:
    """Re-emit one CometBFT log line (JSON, or plain text as a fallback) through structlog."""
    log = logger or structlog.get_logger("cometbft")
    text = line.strip()
    if not text:
        return
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        log.info(text)  # a panic trace or another non-JSON line: keep it verbatim
        return
    level = _COMET_LEVELS.get(str(record.get("level", "info")).lower(), "info")
    message = str(record.get("_msg") or record.get("msg") or "")
    fields = {k: v for k, v in record.items() if k not in _COMET_RESERVED}
    if "event" in fields:  # structlog reserves "event" for the message
        fields["cmt_event"] = fields.pop("event")
    fields["cmt_ts"] = record.get("ts")
    getattr(log, level)(message, **fields)
