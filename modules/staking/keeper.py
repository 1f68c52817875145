"""staking keeper: validators, delegations, unbonding and redelegation records, their indexes
and queues, last powers and params (get / set / iterate only; the rules live in logic.py and
delegation.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import chain.pb  # noqa: F401

from google.protobuf.message import Message

from chain.context import Context
from chain.store import prefix_end
from infera.staking.v1 import types_pb2
from modules.staking import keys
from modules.staking.expected import BankKeeper, StakingHooks

M = TypeVar("M", bound=Message)


class StakingKeeper:
    def __init__(self, bank: BankKeeper) -> None:
        self.bank = bank
        self.hooks: StakingHooks | None = None  # distribution's, set by the app wiring

    # -- params and validators ----------------------------------------------------------------

    def get_params(self, ctx: Context) -> types_pb2.Params:
        params = types_pb2.Params()
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("staking params missing from state")
        params.ParseFromString(raw)
        return params

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString(deterministic=True))

    def get_validator(self, ctx: Context, operator: bytes) -> types_pb2.Validator | None:
        return _get(ctx, keys.VALIDATOR + operator, types_pb2.Validator)

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

    def iterate_bonded_validators(
        self, ctx: Context
    ) -> Iterator[tuple[bytes, types_pb2.Validator, int]]:
        """(operator, validator, power) of the active set -- the validators CometBFT counts
        (last power sent > 0) -- in operator-address order. For governance tallies."""
        for operator in self.iterate_last_powers(ctx):
            validator = self.get_validator(ctx, operator)
            if validator is not None:
                yield operator, validator, self.get_last_power(ctx, operator)

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

    # -- delegations --------------------------------------------------------------------------

    def get_delegation(
        self, ctx: Context, delegator: bytes, operator: bytes
    ) -> types_pb2.Delegation | None:
        return _get(ctx, keys.DELEGATION + delegator + operator, types_pb2.Delegation)

    def set_delegation(
        self, ctx: Context, delegator: bytes, operator: bytes, delegation: types_pb2.Delegation
    ) -> None:
        """Store the delegation; zero shares removes it."""
        key = keys.DELEGATION + delegator + operator
        if int(delegation.shares or "0") == 0:
            ctx.store.delete(key)
        else:
            ctx.store.set(key, delegation.SerializeToString(deterministic=True))

    def iterate_delegations(
        self, ctx: Context, delegator: bytes = b""
    ) -> Iterator[tuple[bytes, bytes, types_pb2.Delegation]]:
        """(delegator, operator, delegation) of one delegator (or all), in key order."""
        start = keys.DELEGATION + delegator
        for key, raw in ctx.store.iterate(start, prefix_end(start)):
            body = key[len(keys.DELEGATION) :]
            yield body[: keys.ADDR], body[keys.ADDR :], types_pb2.Delegation.FromString(raw)

    def iterate_delegations_of(self, ctx: Context, delegator: bytes) -> Iterator[tuple[bytes, int]]:
        """(validator operator, tokens) for each delegation of ``delegator``, operator order;
        tokens = floor(shares x validator tokens / validator shares). For governance: a
        delegator's voting power behind each validator."""
        for _, operator, delegation in self.iterate_delegations(ctx, delegator):
            validator = self.get_validator(ctx, operator)
            if validator is not None:
                yield operator, tokens_of_shares(validator, int(delegation.shares))

    # -- unbonding delegations ----------------------------------------------------------------

    def get_unbonding(
        self, ctx: Context, delegator: bytes, operator: bytes
    ) -> types_pb2.UnbondingDelegation | None:
        return _get(ctx, keys.UNBONDING + delegator + operator, types_pb2.UnbondingDelegation)

    def set_unbonding(
        self, ctx: Context, delegator: bytes, operator: bytes, ubd: types_pb2.UnbondingDelegation
    ) -> None:
        """Store the record and its by-validator index; no entries removes both."""
        key, index = keys.UNBONDING + delegator + operator, keys.UNBONDING_BY_VAL + operator
        if not ubd.entries:
            ctx.store.delete(key)
            ctx.store.delete(index + delegator)
            return
        ctx.store.set(key, ubd.SerializeToString(deterministic=True))
        ctx.store.set(index + delegator, b"\x01")

    def iterate_unbondings_from(self, ctx: Context, operator: bytes) -> Iterator[bytes]:
        """Delegators unbonding from ``operator``, address order."""
        start = keys.UNBONDING_BY_VAL + operator
        for key, _ in ctx.store.iterate(start, prefix_end(start)):
            yield key[len(start) :]

    def iterate_unbondings(self, ctx: Context) -> Iterator[types_pb2.UnbondingDelegation]:
        for _, raw in ctx.store.iterate(keys.UNBONDING, prefix_end(keys.UNBONDING)):
            yield types_pb2.UnbondingDelegation.FromString(raw)

    # -- redelegations ------------------------------------------------------------------------

    def get_redelegation(
        self, ctx: Context, delegator: bytes, src: bytes, dst: bytes
    ) -> types_pb2.Redelegation | None:
        return _get(ctx, keys.REDELEGATION + delegator + src + dst, types_pb2.Redelegation)

    def set_redelegation(
        self, ctx: Context, delegator: bytes, src: bytes, dst: bytes, red: types_pb2.Redelegation
    ) -> None:
        """Store the record and both indexes; no entries removes all three."""
        entries = (
            (keys.REDELEGATION + delegator + src + dst, red.SerializeToString(deterministic=True)),
            (keys.REDELEGATION_BY_SRC + src + delegator + dst, b"\x01"),
            (keys.REDELEGATION_BY_DST + dst + delegator + src, b"\x01"),
        )
        for key, value in entries:
            if red.entries:
                ctx.store.set(key, value)
            else:
                ctx.store.delete(key)

    def iterate_redelegations_from(self, ctx: Context, src: bytes) -> Iterator[tuple[bytes, bytes]]:
        """(delegator, dst) of redelegations out of ``src``, key order."""
        start = keys.REDELEGATION_BY_SRC + src
        for key, _ in ctx.store.iterate(start, prefix_end(start)):
            body = key[len(start) :]
            yield body[: keys.ADDR], body[keys.ADDR :]

    def has_receiving_redelegation(self, ctx: Context, delegator: bytes, dst: bytes) -> bool:
        """Whether ``delegator`` has a redelegation into ``dst`` still in progress."""
        start = keys.REDELEGATION_BY_DST + dst + delegator
        return any(True for _ in ctx.store.iterate(start, prefix_end(start)))

    def iterate_redelegations(self, ctx: Context) -> Iterator[types_pb2.Redelegation]:
        for _, raw in ctx.store.iterate(keys.REDELEGATION, prefix_end(keys.REDELEGATION)):
            yield types_pb2.Redelegation.FromString(raw)

    # -- maturity queues ----------------------------------------------------------------------

    def enqueue(self, ctx: Context, queue: bytes, time_ns: int, pair: bytes) -> None:
        ctx.store.set(queue + keys.time_bytes(time_ns) + pair, b"\x01")

    def pop_mature(self, ctx: Context, queue: bytes, now_ns: int) -> list[bytes]:
        """Remove and return (in queue order, each once) the pairs due at or before ``now_ns``."""
        end = queue + keys.time_bytes(now_ns + 1)
        due = [key for key, _ in ctx.store.iterate(queue, end)]
        pairs: list[bytes] = []
        for key in due:
            ctx.store.delete(key)
            pair = key[len(queue) + 8 :]
            if pair not in pairs:
                pairs.append(pair)
        return pairs


def _get(ctx: Context, key: bytes, cls: type[M]) -> M | None:
    raw = ctx.store.get(key)
    if raw is None:
        return None
    message = cls()
    message.ParseFromString(raw)
    return message


def is_candidate(validator: types_pb2.Validator) -> bool:
    return not validator.jailed and int(validator.tokens or "0") > 0


def tokens_of_shares(validator: types_pb2.Validator, shares: int) -> int:
    """What ``shares`` of ``validator`` are worth: floor(shares x tokens / total shares)."""
    total = int(validator.delegator_shares or "0")
    return 0 if total == 0 else shares * int(validator.tokens) // total
