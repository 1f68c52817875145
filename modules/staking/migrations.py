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
from modules.staking import keys
from modules.staking.keeper import StakingKeeper, is_candidate

CONSENSUS_VERSION = 2  # 1: no by_tokens index; 2: staking/by_tokens/ index (commit 570ef22)


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


# from-version -> migration to from-version + 1
MIGRATIONS: dict[int, Callable[[Context, StakingKeeper], None]] = {1: migrate_1_to_2}


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
