"""What gov needs from other modules (injected by chain/wiring.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from chain.context import Context
from chain.module import MsgRoute
from chain.tx import Coin


class BankKeeper(Protocol):
    def get_balance(self, ctx: Context, address: bytes, denom: str) -> int: ...

    def send_coins_to_module(
        self, ctx: Context, sender: bytes, module: str, coins: Sequence[Coin]
    ) -> None: ...

    def send_coins_from_module(
        self, ctx: Context, module: str, recipient: bytes, coins: Sequence[Coin]
    ) -> None: ...

    def burn_coins(self, ctx: Context, module: str, coins: Sequence[Coin]) -> None: ...


class StakingKeeper(Protocol):
    """Bonded validators (those CometBFT counts now) with their tokens and shares, and each
    voter's delegations with their shares."""

    def iterate_bonded_validators(self, ctx: Context) -> Iterator[tuple[bytes, Any, int]]: ...

    def get_validator(self, ctx: Context, operator: bytes) -> Any: ...

    def iterate_delegations(
        self, ctx: Context, delegator: bytes = b""
    ) -> Iterator[tuple[bytes, bytes, Any]]: ...  # (delegator, operator, Delegation{shares})


class MsgRouter(Protocol):
    """The app's message router: proposal messages are checked and executed through it."""

    def msg_route(self, type_url: str) -> MsgRoute: ...
