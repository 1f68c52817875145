"""The beacon's part of each vote extension (chain.vote_extensions.BeaconHandler).

ExtendVote(H): this validator's share, its BLS signature over (chain id, H), node-local secret,
once the chain registers the secret's public key (genesis or MsgRegisterBlsKey): a validator
that registers later starts signing at the first height after its registration is committed.
VerifyVoteExtension: the share is well formed (its signature is checked later, aggregated).
FinalizeBlock(H + 1): the shares of H's verified commit are aggregated into beacon(H).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chain.context import BlockInfo, Context, ExecMode
from chain.store import KVStore
from modules.beacon import logic
from modules.beacon.keeper import BeaconKeeper


class BeaconVotes:
    def __init__(
        self,
        keeper: BeaconKeeper,
        secret: int | None = None,
        latest_state: Callable[[], KVStore] | None = None,
    ) -> None:
        """``secret``: node-local, None for a node that signs no shares. ``latest_state``: the
        committed state, to sign only once the secret's key is registered there (None: sign
        whenever there is a secret)."""
        self.keeper = keeper
        self.secret = secret
        self.latest_state = latest_state
        self._pubkey = None if secret is None else logic.compute_pubkey(secret)
        self._registered = latest_state is None  # keys are never removed: checked until found

    def is_registered(self) -> bool:
        """Whether the committed state registers this node's BLS key (a store read per call
        until it does; a key is registered for one validator, with its proof of possession,
        which only the secret's holder can make)."""
        if not self._registered and self._pubkey is not None and self.latest_state is not None:
            ctx = Context(store=self.latest_state(), block=BlockInfo("", 0, 0), mode=ExecMode.QUERY)
            self._registered = self.keeper.get_key_owner(ctx, self._pubkey) is not None
        return self._registered

    def compute_share(self, chain_id: str, height: int) -> bytes:
        if self.secret is None or not self.is_registered():
            return b""
        return logic.compute_share(self.secret, chain_id, height)

    def is_well_formed_share(self, share: bytes) -> bool:
        return logic.is_well_formed_share(share)

    def process_shares(
        self, ctx: Context, height: int, shares: Sequence[tuple[bytes, int, bytes]], total: int
    ) -> None:
        self.keeper.process_shares(ctx, height, shares, total)
