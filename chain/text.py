"""ASCII-exact text rules for consensus code.

Python's ``str.isdigit``, ``isprintable``, ``int(str)``, ``\\d`` and ``\\w`` follow the Unicode
tables of the running Python: "²".isdigit() is True, int("١٠") is 10, and Python 3.12 knows
digits 3.11 does not. Two validators on different Pythons would disagree on a tx, a fork. Chain
code parses with ``re.fullmatch`` over explicit ASCII classes instead (never ``$``, which also
matches before a trailing newline), through these helpers.
"""

from __future__ import annotations

import re

UINT_RE = re.compile(r"[0-9]{1,78}")  # 2**256 - 1 has 78 digits
PRINTABLE_ASCII_RE = re.compile(r"[\x20-\x7e]*")  # space through tilde


def is_uint(text: str) -> bool:
    """ASCII digits 0-9 only, 1 to 78 of them."""
    return isinstance(text, str) and UINT_RE.fullmatch(text) is not None


def parse_uint(text: str) -> int:
    """A non-negative integer in ASCII digits 0-9; ``ValueError`` for anything else
    ("١٠", "１０", " 10", "10\\n", "1_0", "+1", "")."""
    if not is_uint(text):
        raise ValueError(f"invalid integer {text!r}: expected ASCII digits 0-9")
    return int(text)


def is_printable_ascii(text: str) -> bool:
    """Only printable ASCII characters (0x20-0x7e); the empty string passes."""
    return isinstance(text, str) and PRINTABLE_ASCII_RE.fullmatch(text) is not None
