"""staking keeper: validators, their index by consensus address, last powers and params."""

from __future__ import annotations

from collections.abc import Iterator

import chain.pb  # noqa: F401

from chain.context import Context
from chain.store import prefix_end
from infera.staking.v1 import types_pb2
from modules.staking import keys
from modules.staking.expected import BankKeeper


class StakingKeeper:
    def __init__(self, bank: BankKeeper) -> None:
        self.bank = bank

    def get_params(self, ctx: Context) -> types_pb2.Params:
        params = types_pb2.Params()
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("staking params missing from state")
        params.ParseFromString(raw)
        return params

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString())

    def get_validator(self, ctx: Context, operator: bytes) -> types_pb2.Validator | None:
        raw = ctx.store.get(keys.VALIDATOR + operator)
        if raw is None:
            return None
        validator = types_pb2.Validator()
        validator.ParseFromString(raw)
        return validator

    def set_validator(self, ctx: Context, operator: bytes, validator: types_pb2.Validator) -> None:
        """Store ``validator`` and keep its entry in the by-tokens index in step."""
        old = self.get_validator(ctx, operator)
        if old is not None and is_candidate(old):
            ctx.store.delete(keys.by_tokens_key(int(old.tokens), operator))
        if is_candidate(validator):
            ctx.store.set(keys.by_tokens_key(int(validator.tokens), operator), b"\x01")
        ctx.store.set(keys.VALIDATOR + operator, validator.SerializeToString(deterministic=True))

    def iterate_by_tokens(self, ctx: Context) -> Iterator[tuple[bytes, types_pb2.Validator]]:
        """Unjailed validators holding tokens, most tokens first (ties: operator address)."""
        for key, _ in ctx.store.iterate(keys.BY_TOKENS, prefix_end(keys.BY_TOKENS)):
            operator = key[len(keys.BY_TOKENS) + 32 :]
            validator = self.get_validator(ctx, operator)
            if validator is not None:
                yield operator, validator

    def iterate_last_powers(self, ctx: Context) -> Iterator[bytes]:
        """Operators CometBFT currently counts (last power sent > 0), in address order."""
        for key, _ in ctx.store.iterate(keys.LAST_POWER, prefix_end(keys.LAST_POWER)):
            yield key[len(keys.LAST_POWER) :]

    def get_operator_by_consensus(self, ctx: Context, consensus_address: bytes) -> bytes | None:
        return ctx.store.get(keys.BY_CONSENSUS + consensus_address)

    def set_consensus_index(self, ctx: Context, consensus_address: bytes, operator: bytes) -> None:
        ctx.store.set(keys.BY_CONSENSUS + consensus_address, operator)

    def iterate_validators(self, ctx: Context) -> Iterator[tuple[bytes, types_pb2.Validator]]:
        """(operator address, validator) in operator-address order."""
        for key, raw in ctx.store.iterate(keys.VALIDATOR, prefix_end(keys.VALIDATOR)):
            validator = types_pb2.Validator()
            validator.ParseFromString(raw)
            yield key[len(keys.VALIDATOR) :], validator

    def get_last_power(self, ctx: Context, operator: bytes) -> int:
        raw = ctx.store.get(keys.LAST_POWER + operator)
        return int(raw) if raw else 0

    def set_last_power(self, ctx: Context, operator: bytes, power: int) -> None:
        if power == 0:
            ctx.store.delete(keys.LAST_POWER + operator)
        else:
            ctx.store.set(keys.LAST_POWER + operator, str(power).encode())


def is_candidate(validator: types_pb2.Validator) -> bool:
    return not validator.jailed and int(validator.tokens or "0") > 0
