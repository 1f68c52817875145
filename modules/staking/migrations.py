"""staking consensus versions and the in-place store migrations between them.

Cosmos style (``ConsensusVersion`` + ``RegisterMigration``): the store records the version of the
layout it was written in (``keys.VERSION``); InitChain writes ``CONSENSUS_VERSION``. At the start
of every block ``run_pending`` compares the stored version with ``CONSENSUS_VERSION`` and runs, in
order and once each, the migrations from the stored version up; a store without the key predates
the mechanism and is version 1. The migration writes are part of that block's state change, so
every node running the same binary computes the same app hash for it.
"""

from __future__ import annotations

from collections.abc import Callable

import chain.pb  # noqa: F401

from chain.context import Context
from chain.store import prefix_end
from chain.text import parse_uint
from infera.staking.v1 import types_pb2
from modules.staking import keys, logic
from modules.staking.keeper import StakingKeeper, is_candidate
from modules.staking.params import fill_defaults

# 1: no by_tokens index; 2: staking/by_tokens/ index (commit 570ef22); 3: delegations (shares,
# commission, tombstone, unbonding and redelegation records, the unbonding pool)
CONSENSUS_VERSION = 3


def stored_version(ctx: Context) -> int:
    raw = ctx.store.get(keys.VERSION)
    return 1 if raw is None else parse_uint(raw.decode("ascii"))


def set_version(ctx: Context, version: int) -> None:
    ctx.store.set(keys.VERSION, str(version).encode("ascii"))


def init_version(ctx: Context) -> None:
    """A new chain starts in the current layout (called by init_genesis)."""
    set_version(ctx, CONSENSUS_VERSION)


def migrate_1_to_2(ctx: Context, keeper: StakingKeeper) -> None:
    """Rebuild the by_tokens index from the validator records: drop every entry, then write one
    per candidate (unjailed, tokens > 0), in operator-address order."""
    stale = [key for key, _ in ctx.store.iterate(keys.BY_TOKENS, prefix_end(keys.BY_TOKENS))]
    for key in stale:
        ctx.store.delete(key)
    for operator, validator in keeper.iterate_validators(ctx):
        if is_candidate(validator):
            ctx.store.set(keys.by_tokens_key(int(validator.tokens), operator), b"\x01")


def migrate_2_to_3(ctx: Context, keeper: StakingKeeper) -> None:
    """Give every validator record shares and its operator's self-delegation of all its
    tokens (the only bond there was), the default commission, and a tombstone where it was
    jailed (version 2 jailed only double-signers); params gain unbonding_time_ns and
    max_entries at their defaults."""
    keeper.set_params(ctx, fill_defaults(keeper.get_params(ctx)))
    for operator, validator in list(keeper.iterate_validators(ctx)):
        upgrade_validator_record(validator)
        keeper.set_validator(ctx, operator, validator)
        self_delegation(ctx, keeper, operator, validator)


def upgrade_validator_record(validator: types_pb2.Validator) -> None:
    """Fill the fields a version-2 record lacks (also used for genesis files without them)."""
    if not validator.delegator_shares:
        validator.delegator_shares = str(int(validator.tokens) * logic.SHARES_PER_TOKEN)
        validator.tombstoned = validator.tombstoned or validator.jailed
    if not validator.HasField("commission"):
        rate, max_rate, max_change = logic.DEFAULT_COMMISSION
        validator.commission.rate = rate
        validator.commission.max_rate = max_rate
        validator.commission.max_change_rate = max_change


def self_delegation(
    ctx: Context, keeper: StakingKeeper, operator: bytes, validator: types_pb2.Validator
) -> None:
    """The operator's delegation of all the validator's shares."""
    delegation = types_pb2.Delegation(
        delegator_address=validator.operator_address,
        validator_address=validator.operator_address,
        shares=validator.delegator_shares,
    )
    keeper.set_delegation(ctx, operator, operator, delegation)


# from-version -> migration to from-version + 1
MIGRATIONS: dict[int, Callable[[Context, StakingKeeper], None]] = {
    1: migrate_1_to_2,
    2: migrate_2_to_3,
}


def run_pending(ctx: Context, keeper: StakingKeeper) -> list[int]:
    """Run the migrations the stored layout still needs; returns the from-versions run."""
    version = stored_version(ctx)
    if version > CONSENSUS_VERSION:
        raise RuntimeError(
            f"staking store is version {version}, this binary knows {CONSENSUS_VERSION}"
        )
    ran = []
    while version < CONSENSUS_VERSION:
        MIGRATIONS[version](ctx, keeper)
        ran.append(version)
        version += 1
        set_version(ctx, version)
    return ran
