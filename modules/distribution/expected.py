"""What distribution needs from other modules."""

from collections.abc import Iterator, Sequence
from typing import Protocol

import chain.pb  # noqa: F401

from chain.context import Context
from chain.tx import Coin
from infera.staking.v1 import types_pb2 as staking_types


class BankKeeper(Protocol):
    def get_balance(self, ctx: Context, address: bytes, denom: str) -> int: ...

    def send_coins_from_module(
        self, ctx: Context, module: str, recipient: bytes, coins: Sequence[Coin]
    ) -> None: ...

    def send_coins_between_modules(
        self, ctx: Context, sender: str, recipient: str, coins: Sequence[Coin]
    ) -> None: ...


class StakingKeeper(Protocol):
    def get_validator(self, ctx: Context, operator: bytes) -> staking_types.Validator | None: ...

    def get_delegation(
        self, ctx: Context, delegator: bytes, operator: bytes
    ) -> staking_types.Delegation | None: ...

    def get_operator_by_consensus(self, ctx: Context, consensus_address: bytes) -> bytes | None: ...

    def iterate_validators(
        self, ctx: Context
    ) -> Iterator[tuple[bytes, staking_types.Validator]]: ...

    def iterate_delegations(
        self, ctx: Context, delegator: bytes = b""
    ) -> Iterator[tuple[bytes, bytes, staking_types.Delegation]]: ...
