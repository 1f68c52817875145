"""Fixed-point decimals for chain code: exact integer arithmetic, no floats.

A ``Decimal`` is an integer numerator over 10**18 (the Cosmos ``LegacyDec`` precision). Parsing
accepts plain decimal strings only ("0.025", "12", "1.5"); anything else is a clear error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PRECISION = 18
ONE = 10**PRECISION
# ASCII digits only, matched whole (fullmatch): "\d" and "$" would accept other scripts' digits
# (a Unicode-version-dependent set) and a trailing newline.
_DECIMAL_RE = re.compile(r"([0-9]{1,40})(?:\.([0-9]{1,18}))?")


@dataclass(frozen=True, order=True)
class Decimal:
    """A non-negative fixed-point number: ``raw / 10**18``."""

    raw: int

    @staticmethod
    def parse(text: str) -> Decimal:
        match = _DECIMAL_RE.fullmatch(text) if isinstance(text, str) else None
        if not match:
            raise ValueError(f"invalid decimal {text!r}")
        whole, frac = match.group(1), match.group(2) or ""
        return Decimal(int(whole) * ONE + int(frac.ljust(PRECISION, "0")))

    @staticmethod
    def from_int(value: int) -> Decimal:
        return Decimal(value * ONE)

    @staticmethod
    def ratio(numerator: int, denominator: int) -> Decimal:
        """numerator / denominator, rounded down."""
        return Decimal(numerator * ONE // denominator)

    def mul_int_floor(self, value: int) -> int:
        return self.raw * value // ONE

    def mul_int_ceil(self, value: int) -> int:
        return -((-self.raw * value) // ONE)

    def mul(self, other: Decimal) -> Decimal:
        return Decimal(self.raw * other.raw // ONE)

    def __str__(self) -> str:
        whole, frac = divmod(self.raw, ONE)
        text = f"{whole}.{frac:0{PRECISION}d}".rstrip("0")
        return text[:-1] if text.endswith(".") else text
