"""gov changes staking and distribution params on the real app (ABCI calls, no CometBFT): a
passed proposal's new unbonding time dates the next undelegation, a passed community tax of 1
sends a whole block's fees to the community pool; changes the module refuses (its
validate_params_change) are refused at submit with gov code 20 and open no proposal."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain import crypto
from cosmos.base.abci.v1beta1 import abci_pb2
from infera.base.v1 import coin_pb2
from infera.gov.v1 import tx_pb2, types_pb2
from infera.staking.v1 import tx_pb2 as staking_tx
from modules.distribution.params import default_params as distribution_defaults
from modules.gov.logic import YES
from modules.staking.params import default_params as staking_defaults
from tests.harness import DENOM, GENESIS_TIME, Key, send_msg
from tests.modules.gov.helpers import (
    VOTING_S,
    advance_to,
    gov_chain,
    keeper,
    proposal,
    query_ctx,
    run,
    submit_msg,
    update_params_msg,
    vote_msg,
)

VAL = [Key("val0"), Key("val1"), Key("val2")]
USER = Key("user0")
FEE_COLLECTOR = crypto.module_address("fee_collector")
CODE_INVALID_PARAMS = 20  # gov ErrInvalidParams


def _pass(chain, msg: tx_pb2.MsgUpdateParams) -> int:
    """Submit (user0 deposits), two of three validators vote yes, run to the end of voting."""
    res = run(chain, USER, submit_msg(USER, msg))
    assert res.code == 0, res.log
    out = tx_pb2.MsgSubmitProposalResponse()
    abci_pb2.TxMsgData.FromString(res.data).msg_responses[0].Unpack(out)
    start = chain.height
    txs = [chain.tx(v, vote_msg(v, out.proposal_id, YES)) for v in VAL[:2]]
    assert [r.code for r in chain.block(txs).tx_results] == [0, 0]
    advance_to(chain, start + VOTING_S)
    closed = proposal(chain, out.proposal_id)
    assert closed.status == types_pb2.PROPOSAL_STATUS_PASSED, closed
    return out.proposal_id


def _coin(amount: int) -> coin_pb2.Coin:
    return coin_pb2.Coin(denom=DENOM, amount=str(amount))


def test_a_passed_unbonding_time_dates_the_next_undelegation(tmp_path):
    chain = gov_chain(tmp_path)
    staking = keeper(chain, "staking")
    current = staking.get_params(query_ctx(chain))
    assert current.unbonding_time_ns == staking_defaults().unbonding_time_ns
    current.unbonding_time_ns = 7 * 10**9
    _pass(chain, update_params_msg("staking", current))
    assert staking.get_params(query_ctx(chain)).unbonding_time_ns == 7 * 10**9

    operator = VAL[0].bech32
    delegate = staking_tx.MsgDelegate(
        delegator_address=USER.bech32, validator_address=operator, amount=_coin(5_000)
    )
    assert run(chain, USER, delegate).code == 0
    undelegate = staking_tx.MsgUndelegate(
        delegator_address=USER.bech32, validator_address=operator, amount=_coin(5_000)
    )
    res = run(chain, USER, undelegate)
    assert res.code == 0, res.log
    response = staking_tx.MsgUndelegateResponse()
    abci_pb2.TxMsgData.FromString(res.data).msg_responses[0].Unpack(response)
    block_time_ns = (GENESIS_TIME + chain.height) * 10**9  # block H is at GENESIS_TIME + H s
    assert response.completion_time_ns == block_time_ns + 7 * 10**9
    before = chain.balance(USER.address)
    advance_to(chain, chain.height + 8)  # 8 s of block time > 7 s: the tokens are back
    assert chain.balance(USER.address) == before + 5_000


def test_a_passed_community_tax_of_one_sends_a_blocks_fees_to_the_pool(tmp_path):
    chain = gov_chain(tmp_path)
    distribution = keeper(chain, "distribution")
    current = distribution.get_params(query_ctx(chain))
    assert current.community_tax == distribution_defaults().community_tax == "0.02"
    current.community_tax = "1"
    _pass(chain, update_params_msg("distribution", current))
    assert distribution.get_params(query_ctx(chain)).community_tax == "1"

    chain.block()  # the fee collector is empty now: every block allocates what it holds
    assert chain.balance(FEE_COLLECTOR) == 0
    txs = [chain.tx(USER, send_msg(USER, VAL[0].address, 1), fee=30_000)]
    assert chain.block(txs).tx_results[0].code == 0
    fees = chain.balance(FEE_COLLECTOR)
    assert fees == 30_000
    ctx = query_ctx(chain)
    pool = distribution.get_community_pool(ctx)
    outstanding = [distribution.get_outstanding(ctx, v.address) for v in VAL]
    chain.block()  # its begin-block allocates the fees: all of them to the pool
    ctx = query_ctx(chain)
    assert distribution.get_community_pool(ctx) == pool + fees
    assert [distribution.get_outstanding(ctx, v.address) for v in VAL] == outstanding


def _refused(chain, module: str, params) -> None:
    before = chain.balance(USER.address)
    res = run(chain, USER, submit_msg(USER, update_params_msg(module, params)))
    assert (res.codespace, res.code) == ("gov", CODE_INVALID_PARAMS), res.log
    assert module in res.log
    assert proposal(chain, 1) is None  # nothing opened, no deposit taken
    assert chain.balance(USER.address) == before - 10_000  # only the tx fee


@pytest.mark.parametrize(
    ("field", "value"),
    [("community_tax", "1.5"), ("community_tax", "-0.1"), ("denom", "uother")],
)
def test_a_distribution_change_the_module_refuses_is_refused_at_submit(tmp_path, field, value):
    chain = gov_chain(tmp_path)
    params = keeper(chain, "distribution").get_params(query_ctx(chain))
    setattr(params, field, value)
    _refused(chain, "distribution", params)


@pytest.mark.parametrize(
    ("field", "value"),
    [("power_reduction", 1), ("bond_denom", "uother"), ("max_validators", 0)],
)
def test_a_staking_change_the_module_refuses_is_refused_at_submit(tmp_path, field, value):
    chain = gov_chain(tmp_path)
    params = keeper(chain, "staking").get_params(query_ctx(chain))
    setattr(params, field, value)
    _refused(chain, "staking", params)
