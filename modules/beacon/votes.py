"""The beacon's part of each vote extension (chain.vote_extensions.BeaconHandler).

ExtendVote(H): this validator's share, its BLS signature over (chain id, H), node-local secret.
VerifyVoteExtension: the share is well formed (its signature is checked later, aggregated).
FinalizeBlock(H + 1): the shares of H's verified commit are aggregated into beacon(H).
"""

from __future__ import annotations

from collections.abc import Sequence

from chain.context import Context
from modules.beacon import logic
from modules.beacon.keeper import BeaconKeeper


class BeaconVotes:
    def __init__(self, keeper: BeaconKeeper, secret: int | None = None) -> None:
        self.keeper = keeper
        self.secret = secret  # node-local; None for a node that signs no shares

    def compute_share(self, chain_id: str, height: int) -> bytes:
        if self.secret is None:
            return b""
        return logic.compute_share(self.secret, chain_id, height)

    def is_well_formed_share(self, share: bytes) -> bool:
        return logic.is_well_formed_share(share)

    def process_shares(
        self, ctx: Context, height: int, shares: Sequence[tuple[bytes, int, bytes]], total: int
    ) -> None:
        self.keeper.process_shares(ctx, height, shares, total)
