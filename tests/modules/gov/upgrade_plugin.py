"""A test-only upgrade handler, loaded by ``INFERA_UNSAFE_UPGRADE_PLUGIN=tests.modules.gov.
upgrade_plugin`` (chain/upgrades.py). Its migration counts its own runs in the store, so a test
can see that it ran exactly once, at the plan's height."""

from __future__ import annotations

from chain.context import Context
from chain.upgrades import UpgradeRegistry

NAME = "v2-test"
RUNS_KEY = b"gov-test/upgrade-runs"  # -> ASCII count of runs
HEIGHT_KEY = b"gov-test/upgrade-height"  # -> ASCII height of the last run


def migrate(ctx: Context) -> None:
    runs = int(ctx.store.get(RUNS_KEY) or b"0")
    ctx.store.set(RUNS_KEY, str(runs + 1).encode())
    ctx.store.set(HEIGHT_KEY, str(ctx.block.height).encode())


def register(registry: UpgradeRegistry) -> None:
    registry.register(NAME, migrate)
