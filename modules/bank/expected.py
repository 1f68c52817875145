"""What bank needs from other modules."""

from typing import Any, Protocol

from chain.context import Context


class AccountKeeper(Protocol):
    def ensure_account(self, ctx: Context, address: bytes) -> Any: ...
