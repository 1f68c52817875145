"""Bounded key components, for the modules' ``keys.py``.

A variable-length key component may come from outside (a query's model id or denom, a message
field checked later): it is bounded before it becomes part of a key. One over its limit raises
``ErrInvalidRequest`` (sdk 18), which a query answers as an error response and a message as a
failed tx; never a crash (a one-byte length prefix cannot hold 256) and never a key that reaches
into another entry's prefix.
"""

from __future__ import annotations

from chain.errors import ErrInvalidRequest

MAX_LENGTH_PREFIXED = 255  # the largest length a one-byte prefix holds


def bounded(text: str, *, limit: int, what: str) -> bytes:
    """``text`` as UTF-8, at most ``limit`` bytes."""
    raw = text.encode()
    if len(raw) > limit:
        raise ErrInvalidRequest(f"{what} of {len(raw)} bytes exceeds the limit of {limit}")
    return raw


def length_prefixed(text: str, *, limit: int, what: str) -> bytes:
    """One length byte, then ``text`` as UTF-8 (at most ``limit`` <= 255 bytes)."""
    raw = bounded(text, limit=min(limit, MAX_LENGTH_PREFIXED), what=what)
    return bytes([len(raw)]) + raw


def separator_free(text: str, *, limit: int, what: str, separator: bytes = b"/") -> bytes:
    """``text`` bounded, and free of the ``separator`` that ends it in a key."""
    raw = bounded(text, limit=limit, what=what)
    if separator in raw:
        raise ErrInvalidRequest(f"{what} {text!r} contains {separator.decode()!r}")
    return raw
