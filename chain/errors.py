"""Typed chain errors with stable ``(codespace, code)`` pairs.

Errors are raised in logic and mapped once, at the ABCI boundary, to a result code, codespace and
log. Codes in the ``sdk`` codespace are the Cosmos SDK's own (``types/errors``), so clients such as
cosmpy that parse them keep working. Modules register their own codespace in their ``errors.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

_REGISTRY: dict[tuple[str, int], str] = {}


@dataclass(frozen=True)
class ErrorKind:
    """A registered error: a stable code in a codespace with a short description."""

    codespace: str
    code: int
    description: str

    def __call__(self, detail: str = "") -> ChainError:
        """Build an exception of this kind; ``detail`` comes first in the log, Cosmos style."""
        return ChainError(self, detail)


class ChainError(Exception):
    """An expected failure of a transaction, query or message; never a crash."""

    def __init__(self, kind: ErrorKind, detail: str = "") -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(self.log)

    @property
    def codespace(self) -> str:
        return self.kind.codespace

    @property
    def code(self) -> int:
        return self.kind.code

    @property
    def log(self) -> str:
        """``detail: description``, the format the Cosmos SDK uses and cosmpy parses."""
        if self.detail:
            return f"{self.detail}: {self.kind.description}"
        return self.kind.description


def register(codespace: str, code: int, description: str) -> ErrorKind:
    """Register an error kind; a ``(codespace, code)`` pair can be registered only once."""
    if code <= 1:
        raise ValueError("codes 0 and 1 are reserved (ok, internal)")
    key = (codespace, code)
    if key in _REGISTRY:
        raise ValueError(f"error code {key} registered twice")
    _REGISTRY[key] = description
    return ErrorKind(codespace, code, description)


def registered() -> dict[tuple[str, int], str]:
    """Every registered error, for docs and tests."""
    return dict(sorted(_REGISTRY.items()))


SDK = "sdk"
# Codes and texts follow cosmos-sdk types/errors/errors.go.
ErrTxDecode = register(SDK, 2, "tx parse error")
ErrInvalidSequence = register(SDK, 3, "invalid sequence")
ErrUnauthorized = register(SDK, 4, "unauthorized")
ErrInsufficientFunds = register(SDK, 5, "insufficient funds")
ErrUnknownRequest = register(SDK, 6, "unknown request")
ErrInvalidAddress = register(SDK, 7, "invalid address")
ErrInvalidPubKey = register(SDK, 8, "invalid pubkey")
ErrUnknownAddress = register(SDK, 9, "unknown address")
ErrInvalidCoins = register(SDK, 10, "invalid coins")
ErrOutOfGas = register(SDK, 11, "out of gas")
ErrMemoTooLarge = register(SDK, 12, "memo too large")
ErrInsufficientFee = register(SDK, 13, "insufficient fee")
ErrTooManySignatures = register(SDK, 14, "maximum number of signatures exceeded")
ErrNoSignatures = register(SDK, 15, "no signatures supplied")
ErrInvalidRequest = register(SDK, 18, "invalid request")
ErrTxTooLarge = register(SDK, 21, "tx too large")
ErrInvalidChainID = register(SDK, 28, "invalid chain-id")
ErrInvalidType = register(SDK, 29, "invalid type")
ErrWrongSequence = register(SDK, 32, "incorrect account sequence")
ErrNotSupported = register(SDK, 37, "feature not supported")
ErrNotFound = register(SDK, 38, "not found")
ErrInvalidGasLimit = register(SDK, 41, "invalid gas limit")
