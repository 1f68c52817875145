"""What slashing needs from other modules (staking's keeper and its slash / jail operations)."""

from typing import Protocol

import chain.pb  # noqa: F401

from chain.context import Context
from infera.staking.v1 import types_pb2 as staking_types


class StakingKeeper(Protocol):
    def get_validator(self, ctx: Context, operator: bytes) -> staking_types.Validator | None: ...

    def get_delegation(
        self, ctx: Context, delegator: bytes, operator: bytes
    ) -> staking_types.Delegation | None: ...

    def get_params(self, ctx: Context) -> staking_types.Params: ...

    def get_operator_by_consensus(self, ctx: Context, consensus_address: bytes) -> bytes | None: ...


class StakingActions(Protocol):
    """staking's state transitions (modules/staking/delegation.py), bound to its keeper."""

    def slash(self, ctx: Context, operator: bytes, infraction_height: int, fraction: str) -> int:
        """Burn ``fraction`` of the stake at risk since ``infraction_height``; returns it."""

    def jail(self, ctx: Context, operator: bytes) -> None: ...

    def unjail(self, ctx: Context, operator: bytes) -> None: ...
