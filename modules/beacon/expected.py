"""What the beacon module needs from other modules."""

from __future__ import annotations

from typing import Any, Protocol

from chain.context import Context


class StakingKeeper(Protocol):
    def get_validator(self, ctx: Context, operator: bytes) -> Any | None:
        """The validator record (with ``consensus_pubkey``) of an operator, or None."""
        ...
