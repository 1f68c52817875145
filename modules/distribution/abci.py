"""distribution's begin-block: the fee collector's balance to the validators that signed the
previous block, by their power in its decided commit."""

from __future__ import annotations

from chain.context import Context
from chain.events import attr
from chain.tx import Coin
from modules.distribution import events, keys, logic, rewards
from modules.distribution.keeper import DistributionKeeper

FEE_COLLECTOR = "fee_collector"  # chain/ante.py FEE_COLLECTOR: tx fees and the protocol's job share


def allocate_fees(ctx: Context, keeper: DistributionKeeper) -> None:
    """Move everything the fee collector holds in ``params.denom`` (fees of the previous block's
    txs, and the protocol share of job payouts) to the distribution account and credit it:
    community tax and rounding to the community pool, the rest to each validator that signed the
    previous height in proportion to its power there. Validators that did not sign get nothing
    (their share goes to the signers). Other denoms stay in the fee collector."""
    params = keeper.get_params(ctx)
    fees = keeper.bank.get_balance(ctx, rewards.collector_address(), params.denom)
    if fees == 0:
        return
    keeper.bank.send_coins_between_modules(
        ctx, FEE_COLLECTOR, keys.DISTRIBUTION_ACCOUNT, [Coin(params.denom, fees)]
    )
    powers = _signed_powers(ctx, keeper)
    shares, community = logic.compute_allocation(fees, powers, params.community_tax)
    for operator, amount in shares:
        commission = rewards.add_rewards(ctx, keeper, operator, amount)
        validator = keeper.staking.get_validator(ctx, operator)
        name = validator.operator_address if validator is not None else operator.hex()
        ctx.events.emit(events.REWARDS, attr("validator", name, index=True), attr("amount", amount))
        ctx.events.emit(
            events.COMMISSION, attr("validator", name, index=True), attr("amount", commission)
        )
    keeper.set_community_pool(ctx, keeper.get_community_pool(ctx) + community)


def _signed_powers(ctx: Context, keeper: DistributionKeeper) -> list[tuple[bytes, int]]:
    """(operator, power) of each known validator that signed the last commit, operator order."""
    powers: dict[bytes, int] = {}
    for vote in ctx.block.last_commit:
        operator = keeper.staking.get_operator_by_consensus(ctx, vote.address)
        if vote.signed and vote.power > 0 and operator is not None:
            powers[operator] = powers.get(operator, 0) + vote.power
    return sorted(powers.items())
