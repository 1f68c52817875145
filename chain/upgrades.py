"""Software-upgrade handlers this binary knows (Cosmos x/upgrade's ``SetUpgradeHandler``).

A passed ``MsgSoftwareUpgrade`` schedules a plan (name, height) in gov's state (modules/gov).
At the start of block ``height`` (before any module's begin-block) the gov pre-blocker asks
this registry for the plan's name:

- no handler: the binary is too old. It raises ``UpgradeNeeded``; the app refuses to finalize
  the block (nothing of it is kept), logs ``UPGRADE "name" NEEDED at height: H: info`` and
  answers CometBFT with an ABCI exception, which stops CometBFT and with it the node. Restarting
  the same binary stops again at the same block: the chain waits for the new binary.
- a handler: the new binary. It runs the handler once (its writes are part of block H), records
  the plan as done and clears it; CometBFT replays block H into the new binary, which goes on.

A binary that already knows the plan's name before its height also stops (``UpgradeNeeded``,
"BINARY UPDATED BEFORE TRIGGER"), as in the SDK: running it early would fork from nodes that
apply the handler at the agreed height.

Handlers are code compiled into a release (``HANDLERS`` below, empty in this version). Tests
add one with ``INFERA_UNSAFE_UPGRADE_PLUGIN=package.module``: a module with
``register(registry)``; never set it on a real node.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

from chain.context import Context

UpgradeHandler = Callable[[Context], None]  # migrates state inside the upgrade block
PLUGIN_ENV = "INFERA_UNSAFE_UPGRADE_PLUGIN"

# Upgrades shipped with this binary: name -> handler. None yet.
HANDLERS: dict[str, UpgradeHandler] = {}


class UpgradeNeeded(Exception):
    """The block cannot be finalized by this binary; the node must stop (not a tx error)."""


class UpgradeRegistry:
    """The upgrade handlers of this binary, by plan name."""

    def __init__(self, handlers: dict[str, UpgradeHandler] | None = None) -> None:
        self._handlers: dict[str, UpgradeHandler] = dict(handlers or {})

    def register(self, name: str, handler: UpgradeHandler) -> None:
        if name in self._handlers:
            raise ValueError(f"upgrade handler {name!r} registered twice")
        self._handlers[name] = handler

    def get(self, name: str) -> UpgradeHandler | None:
        return self._handlers.get(name)

    def names(self) -> list[str]:
        return sorted(self._handlers)


def registry_from_environment() -> UpgradeRegistry:
    """The shipped handlers, plus the test plugin named by ``INFERA_UNSAFE_UPGRADE_PLUGIN``."""
    registry = UpgradeRegistry(HANDLERS)
    plugin = os.environ.get(PLUGIN_ENV, "")
    if plugin:
        importlib.import_module(plugin).register(registry)
    return registry
