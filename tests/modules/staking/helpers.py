"""Shared helpers for the staking, distribution and slashing tests (a TestChain with users)."""

from __future__ import annotations

import chain.pb  # noqa: F401

from google.protobuf.message import Message

from chain import crypto
from chain.context import BlockInfo, Context, ExecMode
from infera.base.v1 import coin_pb2
from infera.staking.v1 import query_pb2, tx_pb2, types_pb2
from tests.harness import CHAIN_ID, DENOM, Key, TestChain

STAKING = "/infera.staking.v1.Query/"


def coin(amount: int, denom: str = DENOM) -> coin_pb2.Coin:
    return coin_pb2.Coin(denom=denom, amount=str(amount))


def run(chain_: TestChain, signer: Key, msg: Message):
    """One tx with one message in its own block; returns the tx result."""
    response = chain_.block([chain_.tx(signer, msg)])
    return response.tx_results[0]


def delegate(chain_: TestChain, who: Key, validator: Key, amount: int):
    msg = tx_pb2.MsgDelegate(
        delegator_address=who.bech32, validator_address=validator.bech32, amount=coin(amount)
    )
    return run(chain_, who, msg)


def undelegate(chain_: TestChain, who: Key, validator: Key, amount: int):
    msg = tx_pb2.MsgUndelegate(
        delegator_address=who.bech32, validator_address=validator.bech32, amount=coin(amount)
    )
    return run(chain_, who, msg)


def redelegate(chain_: TestChain, who: Key, src: Key, dst: Key, amount: int):
    msg = tx_pb2.MsgBeginRedelegate(
        delegator_address=who.bech32,
        validator_src_address=src.bech32,
        validator_dst_address=dst.bech32,
        amount=coin(amount),
    )
    return run(chain_, who, msg)


def query(chain_: TestChain, method: str, request: Message, response_cls: type[Message]):
    res = chain_.query(STAKING + method, request)
    assert res.code == 0, res.log
    return response_cls.FromString(res.value)


def validator(chain_: TestChain, key: Key) -> types_pb2.Validator:
    req = query_pb2.QueryValidatorRequest(operator_address=key.bech32)
    return query(chain_, "Validator", req, query_pb2.QueryValidatorResponse).validator


def delegation_tokens(chain_: TestChain, who: Key, val: Key) -> int:
    res = chain_.query(
        STAKING + "Delegation",
        query_pb2.QueryDelegationRequest(
            delegator_address=who.bech32, validator_address=val.bech32
        ),
    )
    if res.code != 0:
        return 0
    return int(query_pb2.QueryDelegationResponse.FromString(res.value).tokens)


def ctx_of(chain_: TestChain) -> Context:
    """A read context over the latest committed state."""
    return Context(
        store=chain_.store.latest(),
        block=BlockInfo(CHAIN_ID, chain_.height, 0),
        mode=ExecMode.QUERY,
    )


def pool(name: str) -> bytes:
    return crypto.module_address(name)
