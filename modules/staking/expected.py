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

    def burn_coins(self, ctx: Context, module: str, coins: Sequence[Coin]) -> None: ...
