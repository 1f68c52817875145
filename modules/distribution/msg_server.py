"""distribution messages."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from infera.distribution.v1 import tx_pb2
from modules.distribution import events, rewards
from modules.distribution.errors import ErrNoDelegation, ErrNoValidator
from modules.distribution.keeper import DistributionKeeper


def withdraw_delegator_reward(
    ctx: Context, keeper: DistributionKeeper, msg: tx_pb2.MsgWithdrawDelegatorReward
) -> tx_pb2.MsgWithdrawDelegatorRewardResponse:
    """Pay the delegation's rewards accrued since its shares last changed.

    Fails when: an address is malformed; there is no such delegation.
    """
    # verify
    delegator = crypto.from_bech32(msg.delegator_address)
    operator = crypto.from_bech32(msg.validator_address)
    # load / check
    if keeper.staking.get_delegation(ctx, delegator, operator) is None:
        raise ErrNoDelegation(f"{msg.delegator_address} -> {msg.validator_address}")
    # mutate: settle, then restart the accounting with the same shares
    amount = rewards.withdraw_delegation(ctx, keeper, operator, delegator)
    rewards.start_delegation(ctx, keeper, operator, delegator)
    # events: withdraw_rewards (emitted by rewards.withdraw_delegation)
    # respond
    return tx_pb2.MsgWithdrawDelegatorRewardResponse(amount=str(amount))


def withdraw_validator_commission(
    ctx: Context, keeper: DistributionKeeper, msg: tx_pb2.MsgWithdrawValidatorCommission
) -> tx_pb2.MsgWithdrawValidatorCommissionResponse:
    """Pay the validator's accrued commission to its operator.

    Fails when: the address is malformed; it is not a validator.
    """
    # verify
    operator = crypto.from_bech32(msg.validator_address)
    # load / check
    if keeper.staking.get_validator(ctx, operator) is None:
        raise ErrNoValidator(msg.validator_address)
    # mutate
    amount = rewards.withdraw_commission(ctx, keeper, operator)
    # events
    ctx.events.emit(
        events.WITHDRAW_COMMISSION,
        attr("validator", msg.validator_address, index=True),
        attr("amount", amount),
    )
    # respond
    return tx_pb2.MsgWithdrawValidatorCommissionResponse(amount=str(amount))
