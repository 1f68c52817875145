"""``infera tx|query staking|distribution|slashing ...``: delegation, rewards and liveness
(modules/staking, modules/distribution, modules/slashing).

    infera tx staking delegate VALIDATOR AMOUNT --from K
    infera tx staking undelegate VALIDATOR AMOUNT --from K
    infera tx staking redelegate SRC DST AMOUNT --from K
    infera tx staking edit-validator [--moniker M] [--commission-rate R] --from OPERATOR
    infera tx distribution withdraw-rewards VALIDATOR --from K
    infera tx distribution withdraw-commission --from OPERATOR
    infera tx slashing unjail --from OPERATOR
    infera query staking validator ADDR | delegation DELEGATOR VALIDATOR | delegations DELEGATOR
                         | unbonding DELEGATOR VALIDATOR | params
    infera query distribution rewards DELEGATOR VALIDATOR | commission VALIDATOR
                              | community-pool | params
    infera query slashing signing-info VALIDATOR | params

VALIDATOR is the validator's operator address (the account that created it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import chain.pb  # noqa: F401

import typer
from google.protobuf.message import Message

from chain.cli.common import HomeOption, NodeOption, OutputOption
from chain.cli.infera_tx import (
    FeesOption,
    FromOption,
    GasOption,
    MemoOption,
    TxFlags,
    WaitOption,
    parse_amount,
    send,
)
from chain.cli.modules import _run
from chain.cli.prove import GrpcOption
from infera.base.v1 import coin_pb2
from infera.distribution.v1 import query_pb2 as distribution_query
from infera.distribution.v1 import tx_pb2 as distribution_tx
from infera.slashing.v1 import query_pb2 as slashing_query
from infera.slashing.v1 import tx_pb2 as slashing_tx
from infera.staking.v1 import query_pb2 as staking_query
from infera.staking.v1 import tx_pb2 as staking_tx

DENOM = "uinfera"

staking_tx_app = typer.Typer(help="Delegate, undelegate, redelegate, edit a validator.")
distribution_tx_app = typer.Typer(help="Withdraw delegation rewards and commission.")
slashing_tx_app = typer.Typer(help="Unjail a validator jailed for downtime.")
staking_query_app = typer.Typer(help="Validators, delegations, unbondings, params.")
distribution_query_app = typer.Typer(help="Rewards, commission, community pool, params.")
slashing_query_app = typer.Typer(help="Validators' liveness records, params.")
for _app in (staking_tx_app, distribution_tx_app, slashing_tx_app):
    _app.info.no_args_is_help = True
for _app in (staking_query_app, distribution_query_app, slashing_query_app):
    _app.info.no_args_is_help = True


def register(tx: typer.Typer, query: typer.Typer) -> None:
    """Attach staking, distribution and slashing to ``infera tx`` and ``infera query``."""
    tx.add_typer(staking_tx_app, name="staking")
    tx.add_typer(distribution_tx_app, name="distribution")
    tx.add_typer(slashing_tx_app, name="slashing")
    query.add_typer(staking_query_app, name="staking")
    query.add_typer(distribution_query_app, name="distribution")
    query.add_typer(slashing_query_app, name="slashing")


# -- message builders (pure: the sender's address in, the message out) -----------------------------


def delegate_msg(delegator: str, validator: str, amount: str) -> staking_tx.MsgDelegate:
    return staking_tx.MsgDelegate(
        delegator_address=delegator, validator_address=validator, amount=_coin(amount)
    )


def undelegate_msg(delegator: str, validator: str, amount: str) -> staking_tx.MsgUndelegate:
    return staking_tx.MsgUndelegate(
        delegator_address=delegator, validator_address=validator, amount=_coin(amount)
    )


def redelegate_msg(
    delegator: str, src: str, dst: str, amount: str
) -> staking_tx.MsgBeginRedelegate:
    return staking_tx.MsgBeginRedelegate(
        delegator_address=delegator,
        validator_src_address=src,
        validator_dst_address=dst,
        amount=_coin(amount),
    )


def _coin(text: str) -> coin_pb2.Coin:
    return coin_pb2.Coin(denom=DENOM, amount=str(parse_amount(text, "AMOUNT")))


def _send(flags: TxFlags, make: Callable[[str], Message]) -> None:
    """Sign ``make(sender address)`` with the --from key and send it."""

    def build(client: Any, wallet: Any, options: Any) -> Any:
        return client.execute(wallet, [make(str(wallet.address()))], **options)

    send(flags, build)


def _flags(
    from_: str, home: Path, grpc: str, gas: int, fees: str, memo: str, wait: bool, output: str
) -> TxFlags:
    return TxFlags(from_, home, grpc, gas, fees, memo, wait, output)


# -- tx commands -----------------------------------------------------------------------------------


@staking_tx_app.command("delegate")
def delegate(
    validator: str = typer.Argument(..., help="The validator's operator address."),
    amount: str = typer.Argument(..., help="e.g. 1000000uinfera"),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Bond AMOUNT to VALIDATOR (rewards accrue from the next block; withdraw them any time)."""
    flags = _flags(from_, home, grpc, gas, fees, memo, wait, output)
    _send(flags, lambda sender: delegate_msg(sender, validator, amount))


@staking_tx_app.command("undelegate")
def undelegate(
    validator: str = typer.Argument(..., help="The validator's operator address."),
    amount: str = typer.Argument(..., help="Tokens to unbond, e.g. 1000000uinfera"),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Start unbonding AMOUNT; it returns after the unbonding time (slashable until then)."""
    flags = _flags(from_, home, grpc, gas, fees, memo, wait, output)
    _send(flags, lambda sender: undelegate_msg(sender, validator, amount))


@staking_tx_app.command("redelegate")
def redelegate(
    src: str = typer.Argument(..., help="Source validator (operator address)."),
    dst: str = typer.Argument(..., help="Destination validator (operator address)."),
    amount: str = typer.Argument(..., help="e.g. 1000000uinfera"),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Move AMOUNT from SRC to DST at once (SRC's infractions still reach it for a while)."""
    flags = _flags(from_, home, grpc, gas, fees, memo, wait, output)
    _send(flags, lambda sender: redelegate_msg(sender, src, dst, amount))


@staking_tx_app.command("edit-validator")
def edit_validator(
    moniker: str = typer.Option("", "--moniker", help="New moniker (default: unchanged)."),
    rate: str = typer.Option("", "--commission-rate", help="New rate, e.g. 0.11."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Change the moniker and/or commission of the validator --from operates (the rate moves
    at most its max change rate, once per 24 h)."""
    flags = _flags(from_, home, grpc, gas, fees, memo, wait, output)
    _send(
        flags,
        lambda sender: staking_tx.MsgEditValidator(
            operator_address=sender, moniker=moniker, commission_rate=rate
        ),
    )


@distribution_tx_app.command("withdraw-rewards")
def withdraw_rewards(
    validator: str = typer.Argument(..., help="The validator's operator address."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Withdraw the rewards of your delegation to VALIDATOR."""
    flags = _flags(from_, home, grpc, gas, fees, memo, wait, output)
    _send(
        flags,
        lambda sender: distribution_tx.MsgWithdrawDelegatorReward(
            delegator_address=sender, validator_address=validator
        ),
    )


@distribution_tx_app.command("withdraw-commission")
def withdraw_commission(
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Withdraw the commission of the validator --from operates."""
    flags = _flags(from_, home, grpc, gas, fees, memo, wait, output)
    _send(
        flags,
        lambda sender: distribution_tx.MsgWithdrawValidatorCommission(validator_address=sender),
    )


@slashing_tx_app.command("unjail")
def unjail(
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Unjail the validator --from operates (after its downtime jail; never after a double sign)."""
    flags = _flags(from_, home, grpc, gas, fees, memo, wait, output)
    _send(flags, lambda sender: slashing_tx.MsgUnjail(validator_address=sender))


# -- queries ---------------------------------------------------------------------------------------

_STAKING, _DISTRIBUTION, _SLASHING = (
    "/infera.staking.v1.Query/",
    "/infera.distribution.v1.Query/",
    "/infera.slashing.v1.Query/",
)


@staking_query_app.command("validator")
def validator(address: str, node: str = NodeOption, output: str = OutputOption) -> None:
    """One validator: tokens, shares, commission, jailed / tombstoned."""
    _run(node, output, _STAKING + "Validator",
         staking_query.QueryValidatorRequest(operator_address=address),
         staking_query.QueryValidatorResponse)  # fmt: skip


@staking_query_app.command("delegation")
def delegation(
    delegator: str, validator: str, node: str = NodeOption, output: str = OutputOption
) -> None:
    """One delegation and what its shares are worth in tokens."""
    _run(node, output, _STAKING + "Delegation",
         staking_query.QueryDelegationRequest(delegator_address=delegator,
                                              validator_address=validator),
         staking_query.QueryDelegationResponse)  # fmt: skip


@staking_query_app.command("delegations")
def delegations(delegator: str, node: str = NodeOption, output: str = OutputOption) -> None:
    """A delegator's delegations (first page, up to 100)."""
    _run(node, output, _STAKING + "DelegatorDelegations",
         staking_query.QueryDelegatorDelegationsRequest(delegator_address=delegator),
         staking_query.QueryDelegatorDelegationsResponse)  # fmt: skip


@staking_query_app.command("unbonding")
def unbonding(
    delegator: str, validator: str, node: str = NodeOption, output: str = OutputOption
) -> None:
    """A delegator's unbonding entries from one validator."""
    _run(node, output, _STAKING + "UnbondingDelegation",
         staking_query.QueryUnbondingDelegationRequest(delegator_address=delegator,
                                                       validator_address=validator),
         staking_query.QueryUnbondingDelegationResponse)  # fmt: skip


@staking_query_app.command("params")
def staking_params(node: str = NodeOption, output: str = OutputOption) -> None:
    """The staking module's params."""
    _run(node, output, _STAKING + "Params", staking_query.QueryParamsRequest(),
         staking_query.QueryParamsResponse)  # fmt: skip


@distribution_query_app.command("rewards")
def rewards(
    delegator: str, validator: str, node: str = NodeOption, output: str = OutputOption
) -> None:
    """What withdraw-rewards would pay now."""
    _run(node, output, _DISTRIBUTION + "DelegationRewards",
         distribution_query.QueryDelegationRewardsRequest(delegator_address=delegator,
                                                          validator_address=validator),
         distribution_query.QueryDelegationRewardsResponse)  # fmt: skip


@distribution_query_app.command("commission")
def commission(validator: str, node: str = NodeOption, output: str = OutputOption) -> None:
    """A validator's accrued commission."""
    _run(node, output, _DISTRIBUTION + "ValidatorCommission",
         distribution_query.QueryValidatorCommissionRequest(validator_address=validator),
         distribution_query.QueryValidatorCommissionResponse)  # fmt: skip


@distribution_query_app.command("community-pool")
def community_pool(node: str = NodeOption, output: str = OutputOption) -> None:
    """The community pool."""
    _run(node, output, _DISTRIBUTION + "CommunityPool",
         distribution_query.QueryCommunityPoolRequest(),
         distribution_query.QueryCommunityPoolResponse)  # fmt: skip


@distribution_query_app.command("params")
def distribution_params(node: str = NodeOption, output: str = OutputOption) -> None:
    """The distribution module's params."""
    _run(node, output, _DISTRIBUTION + "Params", distribution_query.QueryParamsRequest(),
         distribution_query.QueryParamsResponse)  # fmt: skip


@slashing_query_app.command("signing-info")
def signing_info(validator: str, node: str = NodeOption, output: str = OutputOption) -> None:
    """A validator's liveness record (missed blocks in the window, jailed until)."""
    _run(node, output, _SLASHING + "SigningInfo",
         slashing_query.QuerySigningInfoRequest(validator_address=validator),
         slashing_query.QuerySigningInfoResponse)  # fmt: skip


@slashing_query_app.command("params")
def slashing_params(node: str = NodeOption, output: str = OutputOption) -> None:
    """The slashing module's params."""
    _run(node, output, _SLASHING + "Params", slashing_query.QueryParamsRequest(),
         slashing_query.QueryParamsResponse)  # fmt: skip
