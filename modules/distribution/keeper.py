"""distribution keeper: params, the community pool, and per validator its open period,
historical ratios, delegations' starting points, commission and outstanding rewards (get / set /
iterate only; the F1 rules are in rewards.py)."""

from __future__ import annotations

from collections.abc import Iterator

import chain.pb  # noqa: F401

from chain.context import Context
from chain.store import prefix_end
from infera.distribution.v1 import types_pb2
from modules.distribution import keys
from modules.distribution.expected import BankKeeper, StakingKeeper


class DistributionKeeper:
    def __init__(self, bank: BankKeeper, staking: StakingKeeper) -> None:
        self.bank = bank
        self.staking = staking

    def get_params(self, ctx: Context) -> types_pb2.Params:
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("distribution params missing from state")
        return types_pb2.Params.FromString(raw)

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString(deterministic=True))

    def get_community_pool(self, ctx: Context) -> int:
        return _get_int(ctx, keys.COMMUNITY_POOL)

    def set_community_pool(self, ctx: Context, amount: int) -> None:
        _set_int(ctx, keys.COMMUNITY_POOL, amount)

    def get_current(
        self, ctx: Context, operator: bytes
    ) -> types_pb2.ValidatorCurrentRewards | None:
        raw = ctx.store.get(keys.CURRENT + operator)
        return None if raw is None else types_pb2.ValidatorCurrentRewards.FromString(raw)

    def set_current(
        self, ctx: Context, operator: bytes, current: types_pb2.ValidatorCurrentRewards
    ) -> None:
        ctx.store.set(keys.CURRENT + operator, current.SerializeToString(deterministic=True))

    def get_historical(
        self, ctx: Context, operator: bytes, period: int
    ) -> types_pb2.ValidatorHistoricalRewards:
        raw = ctx.store.get(keys.historical_key(operator, period))
        if raw is None:
            raise RuntimeError(f"historical rewards of period {period} missing")
        return types_pb2.ValidatorHistoricalRewards.FromString(raw)

    def set_historical(
        self,
        ctx: Context,
        operator: bytes,
        period: int,
        historical: types_pb2.ValidatorHistoricalRewards,
    ) -> None:
        """Store a period's ratio; a reference count of 0 deletes it."""
        key = keys.historical_key(operator, period)
        if historical.reference_count == 0:
            ctx.store.delete(key)
        else:
            ctx.store.set(key, historical.SerializeToString(deterministic=True))

    def iterate_historical(self, ctx: Context, operator: bytes) -> Iterator[int]:
        start = keys.HISTORICAL + operator
        for key, _ in ctx.store.iterate(start, prefix_end(start)):
            yield int.from_bytes(key[len(start) :], "big")

    def get_starting(
        self, ctx: Context, operator: bytes, delegator: bytes
    ) -> types_pb2.DelegatorStartingInfo | None:
        raw = ctx.store.get(keys.STARTING + operator + delegator)
        return None if raw is None else types_pb2.DelegatorStartingInfo.FromString(raw)

    def set_starting(
        self,
        ctx: Context,
        operator: bytes,
        delegator: bytes,
        info: types_pb2.DelegatorStartingInfo | None,
    ) -> None:
        key = keys.STARTING + operator + delegator
        if info is None:
            ctx.store.delete(key)
        else:
            ctx.store.set(key, info.SerializeToString(deterministic=True))

    def iterate_starting(
        self, ctx: Context, operator: bytes
    ) -> Iterator[tuple[bytes, types_pb2.DelegatorStartingInfo]]:
        """(delegator, starting info) of a validator's delegations, address order."""
        start = keys.STARTING + operator
        for key, raw in ctx.store.iterate(start, prefix_end(start)):
            yield key[len(start) :], types_pb2.DelegatorStartingInfo.FromString(raw)

    def get_commission(self, ctx: Context, operator: bytes) -> int:
        return _get_int(ctx, keys.COMMISSION + operator)

    def set_commission(self, ctx: Context, operator: bytes, amount: int) -> None:
        _set_int(ctx, keys.COMMISSION + operator, amount)

    def get_outstanding(self, ctx: Context, operator: bytes) -> int:
        return _get_int(ctx, keys.OUTSTANDING + operator)

    def set_outstanding(self, ctx: Context, operator: bytes, amount: int) -> None:
        _set_int(ctx, keys.OUTSTANDING + operator, amount)

    def iterate_outstanding(self, ctx: Context) -> Iterator[tuple[bytes, int]]:
        for key, raw in ctx.store.iterate(keys.OUTSTANDING, prefix_end(keys.OUTSTANDING)):
            yield key[len(keys.OUTSTANDING) :], int(raw)


def _get_int(ctx: Context, key: bytes) -> int:
    raw = ctx.store.get(key)
    return int(raw) if raw else 0


def _set_int(ctx: Context, key: bytes, amount: int) -> None:
    if amount == 0:
        ctx.store.delete(key)
    else:
        ctx.store.set(key, str(amount).encode("ascii"))
