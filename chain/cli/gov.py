"""``infera tx gov ...`` and ``infera query gov ...``: proposals, deposits, votes (modules/gov).

    infera tx gov submit-proposal proposal.json --deposit 10000000uinfera --from K
    infera tx gov deposit PROPOSAL_ID 1000000uinfera --from K
    infera tx gov vote PROPOSAL_ID yes|no|abstain|no_with_veto --from K
    infera tx gov weighted-vote PROPOSAL_ID yes=0.6,no=0.4 --from K
    infera query gov proposal PROPOSAL_ID | proposals | tally PROPOSAL_ID | params
    infera query gov plan | applied NAME

proposal.json is the SDK's shape: ``{"title": "...", "summary": "...", "metadata": "",
"messages": [{"@type": "/infera.gov.v1.MsgUpdateParams", "module": "agreement",
"params": {"@type": "/infera.agreement.v1.Params", ...every field...}}]}``. A message's empty
``authority`` is filled with the gov module account, the only signer gov accepts. MsgUpdateParams
replaces all of a module's params: start from its current ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import chain.pb  # noqa: F401

import typer
from google.protobuf import any_pb2, json_format
from google.protobuf.message import Message

from chain import crypto
from chain.cli.common import DEFAULT_DENOM, CLIError, HomeOption, NodeOption, OutputOption
from chain.cli.infera_tx import (
    FeesOption,
    FromOption,
    GasOption,
    MemoOption,
    TxFlags,
    WaitOption,
    parse_amount,
    send,
    signing_key,
)
from chain.cli.modules import HeightOption, KeyOption, LimitOption, _page, _run
from chain.cli.prove import GrpcOption
from chain.client import Client, TxResult
from infera.base.v1 import coin_pb2
from infera.gov.v1 import query_pb2, tx_pb2, types_pb2

tx_app = typer.Typer(help="Submit, fund and vote on governance proposals.", no_args_is_help=True)
query_app = typer.Typer(
    help="Governance proposals, tallies and upgrade plans.", no_args_is_help=True
)

GOV_ADDRESS = crypto.to_bech32(crypto.module_address("gov"))
_SVC = "/infera.gov.v1.Query/"
_OPTIONS = {
    "yes": types_pb2.VOTE_OPTION_YES,
    "abstain": types_pb2.VOTE_OPTION_ABSTAIN,
    "no": types_pb2.VOTE_OPTION_NO,
    "no_with_veto": types_pb2.VOTE_OPTION_NO_WITH_VETO,
}


def register(tx: typer.Typer, query: typer.Typer) -> None:
    """Attach ``gov`` to ``infera tx`` and ``infera query``."""
    tx.add_typer(tx_app, name="gov")
    query.add_typer(query_app, name="gov")


def _import_params_types() -> None:
    """Every module's Params must be in the descriptor pool for the JSON Any to parse."""
    import importlib

    for module in ("agreement", "beacon", "inference", "models", "sharding", "workers", "zk"):
        importlib.import_module(f"infera.{module}.v1.types_pb2")


def load_proposal(path: Path, proposer: str, deposit: int) -> tx_pb2.MsgSubmitProposal:
    """A MsgSubmitProposal from the JSON file (see the module docstring)."""
    _import_params_types()
    try:
        data = json.loads(path.read_text())
        messages = []
        for entry in data.get("messages", []):
            if isinstance(entry, dict) and "authority" not in entry:
                entry = {**entry, "authority": GOV_ADDRESS}
            packed = any_pb2.Any()
            json_format.ParseDict(entry, packed)
            messages.append(packed)
    except (OSError, ValueError, TypeError, AttributeError, json_format.ParseError) as exc:
        raise CLIError(f"{path}: {exc}") from None
    return tx_pb2.MsgSubmitProposal(
        messages=messages,
        initial_deposit=coin_pb2.Coin(denom=DEFAULT_DENOM, amount=str(deposit)),
        proposer=proposer,
        metadata=str(data.get("metadata", "")),
        title=str(data.get("title", "")),
        summary=str(data.get("summary", "")),
    )


def _execute(flags: TxFlags, msg: Message) -> None:
    def build(client: Client, wallet: Any, options: dict[str, Any]) -> TxResult:
        return client.execute(wallet, [msg], **options)

    send(flags, build)


@tx_app.command("submit-proposal")
def submit_proposal(
    file: Path = typer.Argument(..., help="proposal.json (title, summary, messages)."),
    deposit: str = typer.Option(..., "--deposit", help="Initial deposit, e.g. 10000000uinfera."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Submit a proposal; prints its proposal_id."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    proposer = signing_key(home, from_).address
    msg = load_proposal(file, proposer, parse_amount(deposit, "--deposit"))
    _execute(flags, msg)


@tx_app.command("deposit")
def deposit(
    proposal_id: int = typer.Argument(..., min=1),
    amount: str = typer.Argument(..., help="e.g. 1000000uinfera"),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Add to a proposal's deposit (refunded or burned when it closes, README of modules/gov)."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    coin = coin_pb2.Coin(denom=DEFAULT_DENOM, amount=str(parse_amount(amount, "AMOUNT")))
    depositor = signing_key(home, from_).address
    _execute(flags, tx_pb2.MsgDeposit(proposal_id=proposal_id, depositor=depositor, amount=coin))


@tx_app.command("vote")
def vote(
    proposal_id: int = typer.Argument(..., min=1),
    option: str = typer.Argument(..., help="yes, no, abstain or no_with_veto"),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Vote (again: the last vote before the end counts). Only stake votes."""
    if option not in _OPTIONS:
        raise CLIError(f"unknown option {option!r}; one of {', '.join(_OPTIONS)}")
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    voter = signing_key(home, from_).address
    msg = tx_pb2.MsgVote(proposal_id=proposal_id, voter=voter, option=_OPTIONS[option])
    _execute(flags, msg)


def parse_weighted(text: str) -> list[types_pb2.WeightedVoteOption]:
    """``yes=0.6,no=0.4`` -> weighted options (the chain checks the weights sum to 1)."""
    options = []
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name not in _OPTIONS or not weight:
            raise CLIError(f"expected OPTION=WEIGHT,... with options {', '.join(_OPTIONS)}")
        options.append(types_pb2.WeightedVoteOption(option=_OPTIONS[name], weight=weight))
    return options


@tx_app.command("weighted-vote")
def weighted_vote(
    proposal_id: int = typer.Argument(..., min=1),
    options: str = typer.Argument(..., help="e.g. yes=0.6,no=0.4 (weights sum to 1)"),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Split a vote over options (replaces an earlier vote)."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    voter = signing_key(home, from_).address
    msg = tx_pb2.MsgVoteWeighted(
        proposal_id=proposal_id, voter=voter, options=parse_weighted(options)
    )
    _execute(flags, msg)


@query_app.command("proposal")
def proposal(
    proposal_id: int, height: int = HeightOption, node: str = NodeOption, output: str = OutputOption
) -> None:
    """One proposal: messages, status, deposits, voting times, final tally."""
    _run(node, output, _SVC + "Proposal", query_pb2.QueryProposalRequest(proposal_id=proposal_id),
         query_pb2.QueryProposalResponse, height)  # fmt: skip


@query_app.command("proposals")
def proposals(
    limit: int = LimitOption, page_key: str = KeyOption, node: str = NodeOption,
    output: str = OutputOption,
) -> None:  # fmt: skip
    """Every proposal kept in state (dropped ones are deleted), in id order, one page at a time."""
    _run(node, output, _SVC + "Proposals",
         query_pb2.QueryProposalsRequest(pagination=_page(limit, page_key)),
         query_pb2.QueryProposalsResponse)  # fmt: skip


@query_app.command("tally")
def tally(
    proposal_id: int, height: int = HeightOption, node: str = NodeOption, output: str = OutputOption
) -> None:
    """The running tally of an open proposal, the final one of a closed proposal."""
    _run(node, output, _SVC + "TallyResult",
         query_pb2.QueryTallyResultRequest(proposal_id=proposal_id),
         query_pb2.QueryTallyResultResponse, height)  # fmt: skip


@query_app.command("params")
def params(node: str = NodeOption, output: str = OutputOption) -> None:
    """The gov params (deposit, periods, quorum, thresholds, burns, bounds)."""
    _run(
        node, output, _SVC + "Params", query_pb2.QueryParamsRequest(), query_pb2.QueryParamsResponse
    )


@query_app.command("plan")
def plan(node: str = NodeOption, output: str = OutputOption) -> None:
    """The scheduled software-upgrade plan (empty when none)."""
    _run(node, output, _SVC + "CurrentPlan", query_pb2.QueryCurrentPlanRequest(),
         query_pb2.QueryCurrentPlanResponse)  # fmt: skip


@query_app.command("applied")
def applied(name: str, node: str = NodeOption, output: str = OutputOption) -> None:
    """The height an upgrade ran at (0: never)."""
    _run(node, output, _SVC + "AppliedPlan", query_pb2.QueryAppliedPlanRequest(name=name),
         query_pb2.QueryAppliedPlanResponse)  # fmt: skip
