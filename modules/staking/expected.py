"""What staking needs from other modules."""

from collections.abc import Sequence
from typing import Protocol

from chain.context import Context
from chain.tx import Coin


class BankKeeper(Protocol):
    def get_balance(self, ctx: Context, address: bytes, denom: str) -> int: ...

    def send_coins_to_module(
        self, ctx: Context, sender: bytes, module: str, coins: Sequence[Coin]
    ) -> None: ...

    def send_coins_from_module(
        self, ctx: Context, module: str, recipient: bytes, coins: Sequence[Coin]
    ) -> None: ...

    def send_coins_between_modules(
        self, ctx: Context, sender: str, recipient: str, coins: Sequence[Coin]
    ) -> None: ...

    def burn_coins(self, ctx: Context, module: str, coins: Sequence[Coin]) -> None: ...


class StakingHooks(Protocol):
    """Called around every change of a delegation's shares (the distribution module settles a
    delegation's rewards before its shares change and restarts it after, F1 style)."""

    def after_validator_created(self, ctx: Context, operator: bytes) -> None: ...

    def before_delegation_modified(self, ctx: Context, delegator: bytes, operator: bytes) -> None:
        """Before a delegation's shares change (also before one is created: a no-op then)."""

    def after_delegation_modified(self, ctx: Context, delegator: bytes, operator: bytes) -> None:
        """After a delegation's shares changed (the delegation may be gone: 0 shares)."""
