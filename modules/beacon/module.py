"""The beacon module as the app sees it: genesis only (the app feeds it the commit's shares)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from modules.beacon import genesis
from modules.beacon.keeper import BeaconKeeper


class BeaconModule:
    name = "beacon"

    def __init__(self, keeper: BeaconKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        return ()

    def query_routes(self) -> Sequence[QueryRoute]:
        return ()

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        return genesis.export_genesis(ctx, self.keeper)

    def begin_block(self, ctx: Context, misbehavior: Sequence[Any]) -> None:
        pass

    def end_block(self, ctx: Context) -> None:
        pass
