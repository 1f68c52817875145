"""beacon keeper: registered BLS keys, beacon values by height."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import chain.pb  # noqa: F401

from chain.context import Context
from chain.events import attr
from infera.beacon.v1 import types_pb2
from modules.beacon import keys, logic
from modules.beacon.params import default_params

# Heights a validator's shares are ignored after one failed verification (README "Cost").
BAD_SHARE_EXCLUSION_HEIGHTS = 100_000
EVENT_BAD_SHARE = "beacon_bad_share"


class BeaconKeeper:
    def get_key(self, ctx: Context, consensus_address: bytes) -> bytes | None:
        return ctx.store.get(keys.KEY + consensus_address)

    def set_key(self, ctx: Context, consensus_address: bytes, pubkey: bytes, proof: bytes) -> None:
        """Register ``pubkey`` (whose ``proof`` of possession was verified) for the validator;
        the proof is kept so that a genesis export can be imported (it is checked again)."""
        ctx.store.set(keys.KEY + consensus_address, pubkey)
        ctx.store.set(keys.PROOF + consensus_address, proof)
        ctx.store.set(keys.OWNER + pubkey, consensus_address)

    def get_proof(self, ctx: Context, consensus_address: bytes) -> bytes | None:
        return ctx.store.get(keys.PROOF + consensus_address)

    def set_active(self, ctx: Context) -> None:
        ctx.store.set(keys.ACTIVE, b"1")

    def get_key_owner(self, ctx: Context, pubkey: bytes) -> bytes | None:
        return ctx.store.get(keys.OWNER + pubkey)

    def get_params(self, ctx: Context) -> types_pb2.Params:
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            return default_params()
        params = types_pb2.Params()
        params.ParseFromString(raw)
        return params

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString(deterministic=True))

    def prune(self, ctx: Context) -> int:
        """Delete beacon values older than ``keep_heights`` (at most ``prune_per_block`` per
        call, oldest first); returns how many. A value of height h is deleted once the block
        height exceeds h + keep_heights."""
        params = self.get_params(ctx)
        if not params.keep_heights or ctx.block.height <= params.keep_heights:
            return 0
        end = keys.value_key(ctx.block.height - params.keep_heights)
        old = []
        for key, _ in ctx.store.iterate(keys.VALUE, end):
            old.append(key)
            if len(old) >= params.prune_per_block:
                break
        for key in old:
            ctx.store.delete(key)
        return len(old)

    def get_beacon(self, ctx: Context, height: int) -> bytes | None:
        """The beacon value of ``height`` (revealed in block ``height + 1``), if it has one."""
        return ctx.store.get(keys.value_key(height))

    def set_beacon(self, ctx: Context, height: int, value: bytes) -> None:
        ctx.store.set(keys.value_key(height), value)
        ctx.store.set(keys.ACTIVE, b"1")

    def is_active(self, ctx: Context) -> bool:
        return ctx.store.get(keys.ACTIVE) is not None

    def get_randomness(self, ctx: Context, height: int) -> bytes | None:
        """Randomness revealed after block ``height`` was fixed: the beacon of the first height
        >= ``height`` that has one and is already revealed; None while there is none yet.

        A chain that never produced a beacon (no BLS keys registered, or vote extensions off)
        gets this block's hash instead: the pre-beacon rule, which its proposer can grind."""
        end = keys.value_key(ctx.block.height)  # beacon(h) is known from block h + 1 on
        for _, value in ctx.store.iterate(keys.value_key(height), end):
            return value
        return None if self.is_active(ctx) else ctx.block.hash

    def get_excluded_until(self, ctx: Context, consensus_address: bytes) -> int:
        """The last height whose shares of this validator are ignored (0: none)."""
        raw = ctx.store.get(keys.EXCLUDED + consensus_address)
        return 0 if raw is None else int.from_bytes(raw, "big")

    def compute_candidates(
        self, ctx: Context, height: int, shares: Sequence[tuple[bytes, int, bytes]]
    ) -> list[logic.Share]:
        """The (validator address, power, share) of ``height``'s commit that get verified, in
        address order: those of registered keys, not excluded at ``height`` (read-only)."""
        candidates = []
        for address, power, signature in sorted(shares):
            pubkey = self.get_key(ctx, address)
            if pubkey is None or not signature:
                continue
            if height <= self.get_excluded_until(ctx, address):
                continue
            candidates.append(logic.Share(address, power, pubkey, signature))
        return candidates

    def process_shares(
        self,
        ctx: Context,
        height: int,
        shares: Sequence[tuple[bytes, int, bytes]],
        total: int,
        outcome: Outcome = logic.compute_outcome,
    ) -> bytes | None:
        """Verify the (validator address, power, share) of ``height``'s commit and store the
        beacon when the valid shares of registered keys hold more than 2/3 of ``total``.

        ``outcome`` is ``logic.compute_outcome`` or returns what it returns: a node may have
        computed it ahead of time in another process (votes.BeaconVotes, worker.py), looked up
        by its full arguments, so the result never depends on whether it did.

        A validator whose share fails verification has its shares ignored for the next
        BAD_SHARE_EXCLUSION_HEIGHTS heights (README "Cost"): locating a bad share costs about
        2 log2(n) pairing checks, and this way each validator can make the chain pay that at
        most once per window. Being ignored is abstaining, which it could do anyway."""
        for address, _, signature in sorted(shares):
            until = self.get_excluded_until(ctx, address)
            if until and signature and height > until:
                ctx.store.delete(keys.EXCLUDED + address)  # expired
        candidates = self.compute_candidates(ctx, height, shares)
        message = logic.compute_message(ctx.block.chain_id, height)
        valid, value = outcome(candidates, message, total)
        if len(valid) < len(candidates):
            good = {s.validator_address for s in valid}
            until = height + BAD_SHARE_EXCLUSION_HEIGHTS
            for share in candidates:
                if share.validator_address not in good:
                    ctx.store.set(keys.EXCLUDED + share.validator_address, until.to_bytes(8, "big"))
                    ctx.events.emit(
                        EVENT_BAD_SHARE,
                        attr("consensus_address", share.validator_address.hex(), index=True),
                        attr("height", str(height)),
                        attr("excluded_until", str(until)),
                    )
        if value is not None:
            self.set_beacon(ctx, height, value)
        return value


# (shares, message, total power) -> (valid shares, beacon value or None): logic.compute_outcome
Outcome = Callable[[Sequence[logic.Share], bytes, int], tuple[list[logic.Share], bytes | None]]
