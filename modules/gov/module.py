"""The gov module as the app sees it: messages, queries, genesis, the upgrade pre-blocker and
the end-block that closes ended periods."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from chain.context import Context
from chain.module import MsgRoute, QueryRoute
from infera.gov.v1 import query_pb2, tx_pb2
from modules.gov import abci, genesis, msg_server, query_server
from modules.gov.keeper import GovKeeper

_MSG = "/infera.gov.v1."
_SVC = "/infera.gov.v1.Query/"


class GovModule:
    name = "gov"

    def __init__(self, keeper: GovKeeper) -> None:
        self.keeper = keeper

    def msg_routes(self) -> Sequence[MsgRoute]:
        k = self.keeper
        return (
            MsgRoute(
                _MSG + "MsgSubmitProposal",
                tx_pb2.MsgSubmitProposal,
                lambda ctx, msg: msg_server.submit_proposal(ctx, k, msg),
                ("proposer",),
            ),
            MsgRoute(
                _MSG + "MsgDeposit",
                tx_pb2.MsgDeposit,
                lambda ctx, msg: msg_server.deposit(ctx, k, msg),
                ("depositor",),
            ),
            MsgRoute(
                _MSG + "MsgVote",
                tx_pb2.MsgVote,
                lambda ctx, msg: msg_server.vote(ctx, k, msg),
                ("voter",),
            ),
            MsgRoute(
                _MSG + "MsgVoteWeighted",
                tx_pb2.MsgVoteWeighted,
                lambda ctx, msg: msg_server.vote_weighted(ctx, k, msg),
                ("voter",),
            ),
            MsgRoute(
                _MSG + "MsgUpdateParams",
                tx_pb2.MsgUpdateParams,
                lambda ctx, msg: msg_server.update_params(ctx, k, msg),
                ("authority",),
            ),
            MsgRoute(
                _MSG + "MsgSoftwareUpgrade",
                tx_pb2.MsgSoftwareUpgrade,
                lambda ctx, msg: msg_server.software_upgrade(ctx, k, msg),
                ("authority",),
            ),
            MsgRoute(
                _MSG + "MsgCancelUpgrade",
                tx_pb2.MsgCancelUpgrade,
                lambda ctx, msg: msg_server.cancel_upgrade(ctx, k, msg),
                ("authority",),
            ),
        )

    def query_routes(self) -> Sequence[QueryRoute]:
        k = self.keeper
        routes = (
            ("Proposal", query_pb2.QueryProposalRequest, query_server.proposal),
            ("Proposals", query_pb2.QueryProposalsRequest, query_server.proposals),
            ("Vote", query_pb2.QueryVoteRequest, query_server.vote),
            ("Deposit", query_pb2.QueryDepositRequest, query_server.deposit),
            ("TallyResult", query_pb2.QueryTallyResultRequest, query_server.tally_result),
            ("Params", query_pb2.QueryParamsRequest, query_server.params),
            ("CurrentPlan", query_pb2.QueryCurrentPlanRequest, query_server.current_plan),
            ("AppliedPlan", query_pb2.QueryAppliedPlanRequest, query_server.applied_plan),
        )
        return tuple(
            QueryRoute(_SVC + name, request, _bind(handler, k)) for name, request, handler in routes
        )

    def init_genesis(self, ctx: Context, data: dict[str, Any]) -> None:
        genesis.init_genesis(ctx, self.keeper, data)

    def export_genesis(self, ctx: Context) -> dict[str, Any]:
        return genesis.export_genesis(ctx, self.keeper)

    def pre_block(self, ctx: Context) -> None:
        """Before every module's begin-block (Cosmos PreBlocker): the upgrade gate."""
        abci.process_upgrade_plan(ctx, self.keeper)

    def begin_block(self, ctx: Context, misbehavior: Sequence[Any]) -> None:
        return None

    def end_block(self, ctx: Context) -> None:
        abci.process_ended_proposals(ctx, self.keeper)


def _bind(handler: Any, keeper: GovKeeper) -> Any:
    return lambda ctx, req: handler(ctx, keeper, req)
