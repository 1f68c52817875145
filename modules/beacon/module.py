"""The beacon module as the app sees it (the app feeds it each commit's shares)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from infera.beacon.v1 import query_pb2, tx_pb2
from modules.beacon import genesis, msg_server, query_server
from modules.beacon.expected import StakingKeeper
from modules.beacon.keeper import BeaconKeeper

_MSG = "/infera.beacon.v1."
_SVC = "/infera.beacon.v1.Query/"


class BeaconModule:
    name = "beacon"

    def __init__(self, keeper: BeaconKeeper, staking: StakingKeeper | None = None) -> None:
        self.keeper = keeper
        self.staking = staking  # None: no MsgRegisterBlsKey (genesis keys only)

    def msg_routes(self) -> Sequence[MsgRoute]:
        k, staking = self.keeper, self.staking
        if staking is None:
            return ()
        return (
            MsgRoute(
                _MSG + "MsgRegisterBlsKey",
                tx_pb2.MsgRegisterBlsKey,
                lambda ctx, msg: msg_server.register_bls_key(ctx, k, staking, msg),
                ("operator",),
            ),
        )

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        return (
            QueryRoute(
                _SVC + "Beacon",
                query_pb2.QueryBeaconRequest,
                lambda ctx, req: query_server.beacon(ctx, k, req),
            ),
            QueryRoute(
                _SVC + "Params",
                query_pb2.QueryParamsRequest,
                lambda ctx, req: query_server.params(ctx, k, req),
            ),
        )

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        return genesis.export_genesis(ctx, self.keeper)

    def begin_block(self, ctx: Context, misbehavior: Sequence[Any]) -> None:
        pass

    def end_block(self, ctx: Context) -> None:
        self.keeper.prune(ctx)  # at most prune_per_block deletions
