"""slashing keeper: params, signing records and missed-vote bits (get / set / delete only)."""

from __future__ import annotations

from collections.abc import Iterator

import chain.pb  # noqa: F401

from chain.context import Context
from chain.store import prefix_end
from infera.slashing.v1 import types_pb2
from modules.slashing import keys
from modules.slashing.expected import StakingActions, StakingKeeper


class SlashingKeeper:
    def __init__(self, staking: StakingKeeper, actions: StakingActions) -> None:
        self.staking = staking
        self.actions = actions

    def get_params(self, ctx: Context) -> types_pb2.Params:
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("slashing params missing from state")
        return types_pb2.Params.FromString(raw)

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString(deterministic=True))

    def has_params(self, ctx: Context) -> bool:
        return ctx.store.get(keys.PARAMS) is not None

    def get_info(self, ctx: Context, address: bytes) -> types_pb2.ValidatorSigningInfo | None:
        raw = ctx.store.get(keys.INFO + address)
        return None if raw is None else types_pb2.ValidatorSigningInfo.FromString(raw)

    def set_info(self, ctx: Context, info: types_pb2.ValidatorSigningInfo) -> None:
        ctx.store.set(keys.INFO + info.address, info.SerializeToString(deterministic=True))

    def iterate_infos(self, ctx: Context) -> Iterator[types_pb2.ValidatorSigningInfo]:
        for _, raw in ctx.store.iterate(keys.INFO, prefix_end(keys.INFO)):
            yield types_pb2.ValidatorSigningInfo.FromString(raw)

    def is_missed(self, ctx: Context, address: bytes, index: int) -> bool:
        return ctx.store.get(keys.missed_key(address, index)) is not None

    def set_missed(self, ctx: Context, address: bytes, index: int, missed: bool) -> None:
        if missed:
            ctx.store.set(keys.missed_key(address, index), b"\x01")
        else:
            ctx.store.delete(keys.missed_key(address, index))

    def clear_missed(self, ctx: Context, address: bytes) -> None:
        """Forget the validator's window (at most signed_blocks_window keys)."""
        start = keys.MISSED + address
        for key in [k for k, _ in ctx.store.iterate(start, prefix_end(start))]:
            ctx.store.delete(key)
