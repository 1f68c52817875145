"""The beacon's part of each vote extension (chain.vote_extensions.BeaconHandler).

ExtendVote(H): this validator's share, its BLS signature over (chain id, H), node-local secret,
once the chain registers the secret's public key (genesis or MsgRegisterBlsKey): a validator
that registers later starts signing at the first height after its registration is committed.
VerifyVoteExtension: the share is well formed (its signature is checked later, aggregated).
FinalizeBlock(H + 1): the shares of H's verified commit are aggregated into beacon(H).

With a ``worker`` (worker.BeaconWorker, which ``infera start`` attaches), the BLS work runs in
a child process ahead of time, off the consensus thread (README "Cost"):

* ExtendVote(H) returns the share signed in the background and starts signing H + 1's;
* the aggregate check of H's shares starts as soon as this node holds a share of every
  validator of H that has a registered key (its own from ExtendVote, the others' from
  VerifyVoteExtension): normally while CometBFT waits ``timeout_commit`` after committing H.
  ProcessProposal(H + 1) starts the check of exactly the shares the proposer included when
  they differ (a validator missing, a late precommit);
* FinalizeBlock(H + 1) takes the result of the check of exactly its shares, or computes it.

What ran early is looked up by its full inputs (``logic.compute_outcome`` is a pure function
of them), so the chain's result never depends on timing, and a node that replays blocks or
restarted simply computes inline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from chain.context import BlockInfo, Context, ExecMode
from chain.store import KVStore
from modules.beacon import logic
from modules.beacon.keeper import BeaconKeeper
from modules.beacon.worker import BeaconWorker

log = structlog.get_logger("beacon.votes")

KEEP_HEIGHTS = 3  # heights whose observed shares are kept (the current one and a round behind)


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
        self._address: bytes | None = None  # this node's consensus address, once registered
        self.worker: BeaconWorker | None = None  # node-local background process (worker.py)
        # height -> consensus address -> share this node saw (VerifyVoteExtension, ExtendVote)
        self._seen: dict[int, dict[bytes, bytes]] = {}
        self._expected: dict[int, tuple[dict[bytes, int], int]] = {}  # height -> (signers, total)

    def _latest_ctx(self) -> Context | None:
        if self.latest_state is None:
            return None
        return Context(store=self.latest_state(), block=BlockInfo("", 0, 0), mode=ExecMode.QUERY)

    def is_registered(self) -> bool:
        """Whether the committed state registers this node's BLS key (a store read per call
        until it does; a key is registered for one validator, with its proof of possession,
        which only the secret's holder can make)."""
        if not self._registered and self._pubkey is not None:
            ctx = self._latest_ctx()
            if ctx is not None:
                self._address = self.keeper.get_key_owner(ctx, self._pubkey)
                self._registered = self._address is not None
        return self._registered

    def compute_share(self, chain_id: str, height: int) -> bytes:
        if self.secret is None or not self.is_registered():
            return b""
        if self.worker is None:
            return logic.compute_share(self.secret, chain_id, height)
        share = self.worker.share(self.secret, chain_id, height)
        self.worker.prefetch_share(self.secret, chain_id, height + 1)  # for ExtendVote(H + 1)
        if self._address is not None:
            self.observe_share(chain_id, height, self._address, share)
        return share

    def is_well_formed_share(self, share: bytes) -> bool:
        return logic.is_well_formed_share(share)

    # -- starting the aggregate check early (node-local, never consensus) -----------------------

    def observe_share(self, chain_id: str, height: int, address: bytes, share: bytes) -> None:
        """A well-formed share of ``height`` from ``address`` (VerifyVoteExtension accepted it,
        or this node signed it). Once every validator of ``height`` with a registered key has
        one here, start their aggregate check. Never raises."""
        if self.worker is None or not share:
            return
        try:
            seen = self._seen.setdefault(height, {})
            if address in seen:
                return
            seen[address] = share
            for old in [h for h in self._seen if h <= height - KEEP_HEIGHTS]:
                self._seen.pop(old, None)
                self._expected.pop(old, None)
            expected = self._expected_signers(height)
            if expected is None or not set(expected[0]) <= set(seen):
                return
            signers, total = expected
            shares = [(a, p, seen[a]) for a, p in sorted(signers.items())]
            self._prefetch(chain_id, height, shares, total)
        except Exception:
            log.exception("beacon: observing a share failed", height=height)

    def prefetch_votes(
        self, chain_id: str, height: int, shares: Sequence[tuple[bytes, int, bytes]], total: int
    ) -> None:
        """ProcessProposal(height + 1): start the check of the shares this proposal carries
        (nothing when the same check already runs). Never raises."""
        if self.worker is None:
            return
        try:
            self._prefetch(chain_id, height, shares, total)
        except Exception:
            log.exception("beacon: starting the aggregate check failed", height=height)

    def _expected_signers(self, height: int) -> tuple[dict[bytes, int], int] | None:
        """The validators of ``height`` whose shares FinalizeBlock(height + 1) would verify
        (registered key, not excluded), with their powers, and the height's total power, from
        the committed state (a guess: FinalizeBlock's own inputs decide)."""
        if height not in self._expected:
            from chain.vote_extensions import get_validator_set

            ctx = self._latest_ctx()
            if ctx is None:
                return None
            validators = get_validator_set(ctx.store, height)
            if not validators:
                return None
            signers = {
                v.address: v.power
                for v in validators
                if self.keeper.get_key(ctx, v.address) is not None
                and height > self.keeper.get_excluded_until(ctx, v.address)
            }
            self._expected[height] = (signers, sum(v.power for v in validators))
        return self._expected[height]

    def _prefetch(
        self, chain_id: str, height: int, shares: Sequence[tuple[bytes, int, bytes]], total: int
    ) -> None:
        ctx = self._latest_ctx()
        if self.worker is None or ctx is None:
            return
        candidates = self.keeper.compute_candidates(ctx, height, shares)
        if candidates:
            message = logic.compute_message(chain_id, height)
            self.worker.prefetch_outcome(candidates, message, total)

    # -- FinalizeBlock ----------------------------------------------------------------------------

    def process_shares(
        self, ctx: Context, height: int, shares: Sequence[tuple[bytes, int, bytes]], total: int
    ) -> None:
        worker = self.worker if ctx.mode is ExecMode.FINALIZE else None
        outcome = logic.compute_outcome if worker is None else worker.outcome
        self.keeper.process_shares(ctx, height, shares, total, outcome)
        if worker is not None and self.secret is not None and self.is_registered():
            # a node that did not extend a vote for this block still signs the next one early
            worker.prefetch_share(self.secret, ctx.block.chain_id, ctx.block.height + 1)
