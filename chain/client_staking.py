"""Staking, rewards, liveness and governance helpers of ``chain.client.Client`` (issue 21).

    client.delegate(wallet, validator, 1_000_000)          # -> TxResult
    client.rewards(delegator, validator)                   # -> int, what a withdraw pays now
    client.withdraw_rewards(wallet, validator).amount      # -> int, paid
    prop = client.submit_proposal(wallet, [client.update_params_msg("distribution", params)],
                                  deposit=10_000_000, title="tax")  # -> SubmittedProposal
    client.vote(wallet, prop.proposal_id, "yes")
    client.wait_proposal(prop.proposal_id).status          # PROPOSAL_STATUS_PASSED (3)

Messages are signed by ``wallet`` on the same path as every other helper (``Client.execute``:
local sequence, Simulate for gas, SYNC broadcast, awaited; ``gas``, ``fee``, ``memo``, ``wait``
are passed through). A refused message raises ``chain.client.TxError`` whose ``result`` holds the
module's codespace and code (e.g. gov 20 "invalid params" for a param change the module's own
validation refuses). Amounts are integers in the fee denom. Queries return typed values: ints for
amounts, small dataclasses, or the module's protobuf message; None for NOT_FOUND.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import chain.pb  # noqa: F401

from cosmpy.aerial.wallet import Wallet
from google.protobuf import any_pb2
from google.protobuf.message import Message

from chain import crypto
from chain.client_helpers import MsgHelpers, QueryHelpers
from cosmos.base.abci.v1beta1 import abci_pb2
from infera.base.v1 import coin_pb2
from infera.distribution.v1 import query_pb2 as distribution_query
from infera.distribution.v1 import tx_pb2 as distribution_tx
from infera.gov.v1 import query_pb2 as gov_query
from infera.gov.v1 import tx_pb2 as gov_tx
from infera.gov.v1 import types_pb2 as gov_types
from infera.slashing.v1 import query_pb2 as slashing_query
from infera.slashing.v1 import tx_pb2 as slashing_tx
from infera.staking.v1 import query_pb2 as staking_query
from infera.staking.v1 import tx_pb2 as staking_tx

GOV_ADDRESS = crypto.to_bech32(crypto.module_address("gov"))  # the only signer gov accepts

VOTE_OPTIONS = {
    "yes": gov_types.VOTE_OPTION_YES,
    "abstain": gov_types.VOTE_OPTION_ABSTAIN,
    "no": gov_types.VOTE_OPTION_NO,
    "no_with_veto": gov_types.VOTE_OPTION_NO_WITH_VETO,
}
# How the node's Simulate names a refusal: "... (codespace gov, code 20); gasWanted: ..."
_SIMULATION_REFUSAL = re.compile(r"\(codespace ([a-z0-9_]+), code ([0-9]+)\); gasWanted")
_NO_DELEGATION = "(codespace staking, code 10)"
_OPEN = (gov_types.PROPOSAL_STATUS_DEPOSIT_PERIOD, gov_types.PROPOSAL_STATUS_VOTING_PERIOD)


@dataclass(frozen=True)
class DelegationInfo:
    """A delegation: its shares and what they are worth in tokens now."""

    delegator: str
    validator: str
    shares: int
    tokens: int


@dataclass(frozen=True)
class UnbondingEntry:
    """Tokens leaving a validator; ``balance`` returns at ``completion_time_ns`` (block time)."""

    creation_height: int
    completion_time_ns: int
    initial_balance: int
    balance: int


@dataclass(frozen=True)
class Tally:
    """Voting power (bond-denom tokens) behind each option."""

    yes: int
    abstain: int
    no: int
    no_with_veto: int


@dataclass(frozen=True)
class Unbonding:
    """An executed MsgUndelegate / MsgBeginRedelegate: tokens moving, and when they arrive."""

    amount: int
    completion_time_ns: int
    result: Any  # chain.client.TxResult


@dataclass(frozen=True)
class Withdrawal:
    """An executed withdrawal: what it paid."""

    amount: int
    result: Any  # chain.client.TxResult


@dataclass(frozen=True)
class SubmittedProposal:
    proposal_id: int
    result: Any  # chain.client.TxResult


def msg_response(result: Any, cls: type[Message], index: int = 0) -> Message:
    """The ``index``-th message response of a committed ``TxResult``, decoded as ``cls``."""
    from chain.client import ClientError

    responses = abci_pb2.TxMsgData.FromString(result.data).msg_responses if result.data else []
    if index >= len(responses):
        raise ClientError(f"tx {result.txhash} has no message response {index}")
    out = cls()
    if not responses[index].Unpack(out):
        raise ClientError(f"tx {result.txhash}: response {index} is {responses[index].type_url}")
    return out


def _pack(msg: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(msg, type_url_prefix="/")
    return packed


def _option(option: str | int) -> int:
    from chain.client import ClientError

    if isinstance(option, int):
        if isinstance(option, bool) or option not in VOTE_OPTIONS.values():
            raise ClientError(f"unknown vote option {option}")
        return option
    if option not in VOTE_OPTIONS:
        raise ClientError(f"unknown vote option {option!r}: one of {', '.join(VOTE_OPTIONS)}")
    return VOTE_OPTIONS[option]


class StakingQueryHelpers(QueryHelpers):
    """Delegations, unbondings, rewards, liveness and gov queries (mixed into ``Client``)."""

    def _get_absent(self, path: str, request: Message, cls: type[Any]) -> Any | None:
        """The response, or None when the node says NOT_FOUND or staking's "no delegation"
        (code 10, which the node answers as INVALID_ARGUMENT)."""
        import grpc

        from chain.client import QueryError

        try:
            return self.query(path, request, cls)
        except QueryError as err:
            if err.code == grpc.StatusCode.NOT_FOUND or err.details.endswith(_NO_DELEGATION):
                return None
            raise

    def delegation(self, delegator: str, validator: str) -> DelegationInfo | None:
        request = staking_query.QueryDelegationRequest(
            delegator_address=delegator, validator_address=validator
        )
        path = "/infera.staking.v1.Query/Delegation"
        response = self._get_absent(path, request, staking_query.QueryDelegationResponse)
        if response is None:
            return None
        d = response.delegation
        return DelegationInfo(
            d.delegator_address, d.validator_address, int(d.shares or 0), int(response.tokens or 0)
        )

    def delegations(self, delegator: str) -> list[Any]:
        """Every ``Delegation`` (protobuf) of ``delegator``, all pages."""
        return list(
            self._pages(
                "/infera.staking.v1.Query/DelegatorDelegations",
                lambda page: staking_query.QueryDelegatorDelegationsRequest(
                    delegator_address=delegator, pagination=page
                ),
                staking_query.QueryDelegatorDelegationsResponse,
                "delegations",
            )
        )

    def unbonding_entries(self, delegator: str, validator: str) -> list[UnbondingEntry]:
        """The pair's pending unbonding entries (empty when none)."""
        request = staking_query.QueryUnbondingDelegationRequest(
            delegator_address=delegator, validator_address=validator
        )
        path = "/infera.staking.v1.Query/UnbondingDelegation"
        response = self._get_absent(path, request, staking_query.QueryUnbondingDelegationResponse)
        if response is None:
            return []
        found = response.unbonding
        return [
            UnbondingEntry(
                e.creation_height,
                e.completion_time_ns,
                int(e.initial_balance or 0),
                int(e.balance or 0),
            )
            for e in found.entries
        ]

    def rewards(self, delegator: str, validator: str) -> int:
        """What ``withdraw_rewards`` would pay now."""
        request = distribution_query.QueryDelegationRewardsRequest(
            delegator_address=delegator, validator_address=validator
        )
        path = "/infera.distribution.v1.Query/DelegationRewards"
        response = self.query(path, request, distribution_query.QueryDelegationRewardsResponse)
        return int(response.amount or 0)

    def commission(self, validator: str) -> int:
        """A validator's accrued, unwithdrawn commission."""
        request = distribution_query.QueryValidatorCommissionRequest(validator_address=validator)
        path = "/infera.distribution.v1.Query/ValidatorCommission"
        response = self.query(path, request, distribution_query.QueryValidatorCommissionResponse)
        return int(response.amount or 0)

    def community_pool(self) -> int:
        path = "/infera.distribution.v1.Query/CommunityPool"
        request = distribution_query.QueryCommunityPoolRequest()
        response = self.query(path, request, distribution_query.QueryCommunityPoolResponse)
        return int(response.amount or 0)

    def signing_info(self, validator: str) -> Any | None:
        """A validator's liveness record (``ValidatorSigningInfo``), None when it has none."""
        request = slashing_query.QuerySigningInfoRequest(validator_address=validator)
        path = "/infera.slashing.v1.Query/SigningInfo"
        return self._get(path, request, slashing_query.QuerySigningInfoResponse, "info")

    def module_params(self, module: str) -> Any:
        """Params of staking, distribution, slashing or gov (``params`` has the others)."""
        modules = {
            "staking": staking_query,
            "distribution": distribution_query,
            "slashing": slashing_query,
            "gov": gov_query,
        }
        if module not in modules:
            return self.params(module)
        q = modules[module]
        path = f"/infera.{module}.v1.Query/Params"
        return self.query(path, q.QueryParamsRequest(), q.QueryParamsResponse).params

    # gov
    def proposal(self, proposal_id: int) -> Any | None:
        """The ``Proposal`` (status, deposits, voting times, final tally); None when unknown or
        dropped (a proposal that never reached its deposit is deleted)."""
        request = gov_query.QueryProposalRequest(proposal_id=proposal_id)
        path = "/infera.gov.v1.Query/Proposal"
        return self._get(path, request, gov_query.QueryProposalResponse, "proposal")

    def proposals(self) -> Iterator[Any]:
        return self._pages(
            "/infera.gov.v1.Query/Proposals",
            lambda page: gov_query.QueryProposalsRequest(pagination=page),
            gov_query.QueryProposalsResponse,
            "proposals",
        )

    def tally(self, proposal_id: int) -> Tally:
        """The running tally of an open proposal, the final one of a closed proposal."""
        request = gov_query.QueryTallyResultRequest(proposal_id=proposal_id)
        path = "/infera.gov.v1.Query/TallyResult"
        t = self.query(path, request, gov_query.QueryTallyResultResponse).tally
        return Tally(
            int(t.yes_count or 0),
            int(t.abstain_count or 0),
            int(t.no_count or 0),
            int(t.no_with_veto_count or 0),
        )

    def gov_vote(self, proposal_id: int, voter: str) -> Any | None:
        request = gov_query.QueryVoteRequest(proposal_id=proposal_id, voter=voter)
        return self._get("/infera.gov.v1.Query/Vote", request, gov_query.QueryVoteResponse, "vote")

    def wait_proposal(self, proposal_id: int, timeout: float = 120.0) -> Any:
        """Poll until the proposal has left its deposit and voting periods; the closed
        ``Proposal`` (``TimeoutError`` after ``timeout`` seconds, ``ClientError`` if dropped)."""
        import time

        from chain.client import ClientError

        deadline = time.monotonic() + timeout
        while True:
            found = self.proposal(proposal_id)
            if found is None:
                raise ClientError(f"proposal {proposal_id} is unknown (dropped without deposit?)")
            if found.status not in _OPEN:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"proposal {proposal_id} still open after {timeout} s")
            time.sleep(getattr(self, "poll_interval", 0.25))


class StakingMsgHelpers(MsgHelpers):
    """Delegation, rewards, unjail and gov messages (mixed into ``Client``)."""

    def _execute(self, wallet: Wallet, msgs: Sequence[Message], **options: Any) -> Any:
        """``execute``, where a message the chain refuses while estimating gas (Simulate) is a
        ``TxError`` with the module's codespace and code too, as CheckTx or execution would
        give (its ``result.txhash`` is empty: nothing was broadcast)."""
        from chain.client import ClientError, TxError, TxResult

        try:
            return self.execute(wallet, msgs, **options)
        except TxError:
            raise
        except ClientError as err:
            found = _SIMULATION_REFUSAL.findall(str(err))
            if not found:
                raise
            codespace, code = found[-1]
            raise TxError(
                TxResult(txhash="", code=int(code), codespace=codespace, log=str(err))
            ) from None

    def _coin(self, amount: int) -> coin_pb2.Coin:
        from chain.client import ClientError

        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ClientError(f"amount must be a positive integer, not {amount!r}")
        return coin_pb2.Coin(denom=self.fee_denom, amount=str(amount))

    # staking
    def delegate(self, wallet: Wallet, validator: str, amount: int, **options: Any) -> Any:
        """Bond ``amount`` to ``validator`` (its operator address); rewards accrue from the
        next block."""
        msg = staking_tx.MsgDelegate(
            delegator_address=str(wallet.address()),
            validator_address=validator,
            amount=self._coin(amount),
        )
        return self._execute(wallet, [msg], **options)

    def undelegate(self, wallet: Wallet, validator: str, amount: int, **options: Any) -> Unbonding:
        """Start unbonding ``amount`` tokens; they return after the unbonding time and stay
        slashable until then. Pending rewards are paid first."""
        msg = staking_tx.MsgUndelegate(
            delegator_address=str(wallet.address()),
            validator_address=validator,
            amount=self._coin(amount),
        )
        result = self._execute(wallet, [msg], **options)
        if not options.get("wait", True):
            return Unbonding(amount, 0, result)
        response = msg_response(result, staking_tx.MsgUndelegateResponse)
        assert isinstance(response, staking_tx.MsgUndelegateResponse)
        return Unbonding(int(response.amount or 0), response.completion_time_ns, result)

    def redelegate(
        self, wallet: Wallet, src: str, dst: str, amount: int, **options: Any
    ) -> Unbonding:
        """Move ``amount`` tokens from ``src`` to ``dst`` at once (``src``'s infractions still
        reach them until ``completion_time_ns``)."""
        msg = staking_tx.MsgBeginRedelegate(
            delegator_address=str(wallet.address()),
            validator_src_address=src,
            validator_dst_address=dst,
            amount=self._coin(amount),
        )
        result = self._execute(wallet, [msg], **options)
        if not options.get("wait", True):
            return Unbonding(amount, 0, result)
        response = msg_response(result, staking_tx.MsgBeginRedelegateResponse)
        assert isinstance(response, staking_tx.MsgBeginRedelegateResponse)
        return Unbonding(amount, response.completion_time_ns, result)

    def edit_validator(
        self, wallet: Wallet, *, moniker: str = "", commission_rate: str = "", **options: Any
    ) -> Any:
        """Change the moniker and/or commission rate (a decimal string, e.g. ``"0.11"``) of the
        validator ``wallet`` operates; empty values are left unchanged."""
        msg = staking_tx.MsgEditValidator(
            operator_address=str(wallet.address()),
            moniker=moniker,
            commission_rate=commission_rate,
        )
        return self._execute(wallet, [msg], **options)

    # distribution and slashing
    def withdraw_rewards(self, wallet: Wallet, validator: str, **options: Any) -> Withdrawal:
        """Withdraw the rewards of ``wallet``'s delegation to ``validator``."""
        msg = distribution_tx.MsgWithdrawDelegatorReward(
            delegator_address=str(wallet.address()), validator_address=validator
        )
        result = self._execute(wallet, [msg], **options)
        if not options.get("wait", True):
            return Withdrawal(0, result)
        response = msg_response(result, distribution_tx.MsgWithdrawDelegatorRewardResponse)
        assert isinstance(response, distribution_tx.MsgWithdrawDelegatorRewardResponse)
        return Withdrawal(int(response.amount or 0), result)

    def withdraw_commission(self, wallet: Wallet, **options: Any) -> Withdrawal:
        """Withdraw the commission of the validator ``wallet`` operates."""
        msg = distribution_tx.MsgWithdrawValidatorCommission(
            validator_address=str(wallet.address())
        )
        result = self._execute(wallet, [msg], **options)
        if not options.get("wait", True):
            return Withdrawal(0, result)
        response = msg_response(result, distribution_tx.MsgWithdrawValidatorCommissionResponse)
        assert isinstance(response, distribution_tx.MsgWithdrawValidatorCommissionResponse)
        return Withdrawal(int(response.amount or 0), result)

    def unjail(self, wallet: Wallet, **options: Any) -> Any:
        """Unjail the validator ``wallet`` operates (after its downtime jail; never after a
        double sign)."""
        msg = slashing_tx.MsgUnjail(validator_address=str(wallet.address()))
        return self._execute(wallet, [msg], **options)

    # gov
    @staticmethod
    def update_params_msg(module: str, params: Message) -> gov_tx.MsgUpdateParams:
        """A proposal message replacing all of ``module``'s params (start from the current
        ones: ``client.module_params(module)``); signed by the gov account when it passes."""
        return gov_tx.MsgUpdateParams(authority=GOV_ADDRESS, module=module, params=_pack(params))

    def submit_proposal(
        self,
        wallet: Wallet,
        messages: Sequence[Message],
        *,
        deposit: int,
        title: str,
        summary: str = "",
        metadata: str = "",
        **options: Any,
    ) -> SubmittedProposal:
        """Submit ``messages`` (each signed by ``GOV_ADDRESS``, e.g. ``update_params_msg``) with
        an initial deposit; ``title`` is 1 to 140 printable ASCII characters. gov checks every message now: a param change the module refuses is
        a ``TxError`` (gov code 20) and no proposal is made."""
        msg = gov_tx.MsgSubmitProposal(
            messages=[m if isinstance(m, any_pb2.Any) else _pack(m) for m in messages],
            initial_deposit=coin_pb2.Coin(denom=self.fee_denom, amount=str(deposit)),
            proposer=str(wallet.address()),
            metadata=metadata,
            title=title,
            summary=summary,
        )
        result = self._execute(wallet, [msg], **options)
        if not options.get("wait", True):
            return SubmittedProposal(0, result)
        response = msg_response(result, gov_tx.MsgSubmitProposalResponse)
        assert isinstance(response, gov_tx.MsgSubmitProposalResponse)
        return SubmittedProposal(response.proposal_id, result)

    def deposit(self, wallet: Wallet, proposal_id: int, amount: int, **options: Any) -> Any:
        msg = gov_tx.MsgDeposit(
            proposal_id=proposal_id, depositor=str(wallet.address()), amount=self._coin(amount)
        )
        return self._execute(wallet, [msg], **options)

    def vote(
        self,
        wallet: Wallet,
        proposal_id: int,
        option: str | int,
        metadata: str = "",
        **options: Any,
    ) -> Any:
        """Vote ``yes``, ``no``, ``abstain`` or ``no_with_veto`` (or a ``VOTE_OPTION_*``); a
        later vote replaces it. Only bonded stake (own or delegated) has voting power."""
        msg = gov_tx.MsgVote(
            proposal_id=proposal_id,
            voter=str(wallet.address()),
            option=_option(option),
            metadata=metadata,
        )
        return self._execute(wallet, [msg], **options)

    def weighted_vote(
        self,
        wallet: Wallet,
        proposal_id: int,
        weights: Mapping[str, str],
        metadata: str = "",
        **options: Any,
    ) -> Any:
        """Split a vote, e.g. ``{"yes": "0.6", "no": "0.4"}`` (decimal strings; the chain
        checks they sum to 1)."""
        msg = gov_tx.MsgVoteWeighted(
            proposal_id=proposal_id,
            voter=str(wallet.address()),
            options=[
                gov_types.WeightedVoteOption(option=_option(name), weight=weight)
                for name, weight in weights.items()
            ],
            metadata=metadata,
        )
        return self._execute(wallet, [msg], **options)


class StakingHelpers(StakingQueryHelpers, StakingMsgHelpers):
    """Both mix-ins; ``Client`` inherits this."""
