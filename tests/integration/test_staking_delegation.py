"""Delegation, rewards and liveness on a real 4-validator CometBFT network (issue 21 "done
when"): delegate -> rewards accrue -> withdraw; undelegate -> unbonding -> funds return; a
stopped validator is jailed and slashed for downtime, and unjails after it restarts."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import chain.pb  # noqa: F401

import pytest
from google.protobuf.message import Message

from chain.cli.tx import get_account
from chain.keyring import Keyring
from cosmos.bank.v1beta1 import tx_pb2 as bank_tx
from cosmos.base.abci.v1beta1 import abci_pb2
from infera.distribution.v1 import query_pb2 as distribution_query
from infera.distribution.v1 import tx_pb2 as distribution_tx
from infera.slashing.v1 import tx_pb2 as slashing_tx
from infera.staking.v1 import query_pb2 as staking_query
from infera.staking.v1 import tx_pb2 as staking_tx
from tests.harness import build_tx
from tests.integration.conftest import (
    DENOM,
    LocalNetwork,
    NodeProcess,
    balance,
    broadcast_all,
    tx_hash,
    wait_committed,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UNBONDING_S = 8
WINDOW = 20
JAIL_S = 3
GAS, FEE = 300_000, 7_500  # fee = gas x the presets' 0.025 minimum gas price


@dataclass
class Signer:
    """What build_tx needs of a key (.private, .public) plus its address."""

    address: str
    private: bytes
    public: bytes


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNetwork]:
    network = LocalNetwork.testnet(tmp_path_factory.mktemp("staking"), validators=4)
    for node in network.nodes:  # every node the same genesis: short unbonding, short window
        _patch_genesis(node.home / "config" / "genesis.json")
    try:
        network.start()
        yield network
    finally:
        network.close()


def _patch_genesis(path: Path) -> None:
    genesis = json.loads(path.read_text())
    state = genesis["app_state"]
    state["staking"]["params"]["unbonding_time_ns"] = str(UNBONDING_S * 10**9)
    state["slashing"] = {
        "params": {
            "signed_blocks_window": str(WINDOW),
            "min_signed_per_window": "0.5",
            "downtime_jail_duration_ns": str(JAIL_S * 10**9),
            "slash_fraction_downtime": "0.01",
        }
    }
    path.write_text(json.dumps(genesis, indent=2))


def _send(node: NodeProcess, chain_id: str, signer: Signer, *msgs: Message) -> dict:
    """Sign with the account's committed sequence, broadcast, wait; returns the tx result."""
    state = get_account(node.rpc, signer.address)
    raw = build_tx(
        list(msgs),
        [signer],  # type: ignore[list-item]  # duck-typed: .private and .public
        sequences=[state.sequence],
        account_numbers=[state.account_number],
        chain_id=chain_id,
        fee=FEE,
        gas=GAS,
    )
    broadcast_all(node.rpc, [raw])
    result = wait_committed(node.rpc, [tx_hash(raw)])[tx_hash(raw)]["tx_result"]
    assert int(result.get("code") or 0) == 0, result.get("log")
    return dict(result)


def _response(result: dict, cls: type[Message]) -> Message:
    data = abci_pb2.TxMsgData.FromString(base64.b64decode(result["data"]))
    return cls.FromString(data.msg_responses[0].value)


def _withdrawn(result: dict, delegator: str) -> int:
    """The rewards a tx paid ``delegator`` (its withdraw_rewards events)."""
    total = 0
    for event in result.get("events", []):
        attrs = {a["key"]: a["value"] for a in event.get("attributes", [])}
        if event["type"] == "withdraw_rewards" and attrs.get("delegator") == delegator:
            total += int(attrs["amount"])
    return total


def _dev(net: LocalNetwork, i: int) -> Signer:
    a = net.accounts[i]
    return Signer(a.address, a.private, a.public)


def _operator(node: NodeProcess) -> Signer:
    key = Keyring(node.home).get("validator")
    return Signer(key.address, key.private_key(), key.pubkey)


def _validator(node: NodeProcess, operator: str) -> staking_query.QueryValidatorResponse:
    request = staking_query.QueryValidatorRequest(operator_address=operator)
    return node.rpc.query(
        "/infera.staking.v1.Query/Validator", request, staking_query.QueryValidatorResponse
    ).validator


def _rewards(node: NodeProcess, delegator: str, operator: str) -> int:
    request = distribution_query.QueryDelegationRewardsRequest(
        delegator_address=delegator, validator_address=operator
    )
    path = "/infera.distribution.v1.Query/DelegationRewards"
    reply = node.rpc.query(path, request, distribution_query.QueryDelegationRewardsResponse)
    return int(reply.amount)


def _coin(amount: int) -> dict:
    return {"denom": DENOM, "amount": str(amount)}


def test_delegate_rewards_withdraw_then_undelegate_and_funds_return(net: LocalNetwork) -> None:
    node = net.nodes[0]
    alice, bob = _dev(net, 0), _dev(net, 1)
    operator = _operator(net.nodes[1]).address
    amount = 10_000_000  # as much as the validator's own bond: half its shares
    _send(
        node,
        net.chain_id,
        alice,
        staking_tx.MsgDelegate(
            delegator_address=alice.address, validator_address=operator, amount=_coin(amount)
        ),
    )
    for _ in range(3):  # fees for the validators to earn
        send = bank_tx.MsgSend(
            from_address=bob.address, to_address=alice.address, amount=[_coin(1)]
        )
        _send(node, net.chain_id, bob, send)
    node.wait_height(node.height() + 2)
    owed = _rewards(node, alice.address, operator)
    assert owed > 0  # rewards accrued

    before = balance(node.rpc, alice.address)
    withdrawn = _send(
        node,
        net.chain_id,
        alice,
        distribution_tx.MsgWithdrawDelegatorReward(
            delegator_address=alice.address, validator_address=operator
        ),
    )
    paid = int(_response(withdrawn, distribution_tx.MsgWithdrawDelegatorRewardResponse).amount)
    assert paid >= owed
    assert balance(node.rpc, alice.address) == before - FEE + paid

    before = balance(node.rpc, alice.address)
    result = _send(
        node,
        net.chain_id,
        alice,
        staking_tx.MsgUndelegate(
            delegator_address=alice.address, validator_address=operator, amount=_coin(amount)
        ),
    )
    unbonding = _response(result, staking_tx.MsgUndelegateResponse)
    assert int(unbonding.amount) == amount
    settled = _withdrawn(result, alice.address)  # rewards paid before the shares change
    assert settled > 0
    before += settled - FEE
    assert balance(node.rpc, alice.address) == before  # the tokens are not back yet: unbonding
    deadline = time.monotonic() + UNBONDING_S + 30
    while balance(node.rpc, alice.address) < before + amount:
        assert time.monotonic() < deadline, "unbonded tokens never returned"
        time.sleep(0.5)
    assert balance(node.rpc, alice.address) == before + amount
    net.assert_same_app_hashes(net.min_height())


def test_stopped_validator_is_jailed_slashed_and_unjails_after_restart(net: LocalNetwork) -> None:
    node, victim = net.nodes[0], net.nodes[3]
    operator = _operator(victim)
    tokens = int(_validator(node, operator.address).tokens)
    assert victim.stop() == 0
    deadline = time.monotonic() + 180
    while not _validator(node, operator.address).jailed:  # > WINDOW/2 misses, full window seen
        assert time.monotonic() < deadline, "the stopped validator was never jailed"
        time.sleep(0.5)
    jailed = _validator(node, operator.address)
    assert int(jailed.tokens) == tokens - tokens // 100  # slash_fraction_downtime 1 %
    assert not jailed.tombstoned
    node.wait_height(node.height() + 3)
    assert len(node.rpc.validators()) == 3  # CometBFT dropped it

    victim.start()
    victim.wait_height(node.height(), timeout=120)
    time.sleep(JAIL_S)
    _send(node, net.chain_id, operator, slashing_tx.MsgUnjail(validator_address=operator.address))
    assert not _validator(node, operator.address).jailed
    node.wait_height(node.height() + 3)
    assert len(node.rpc.validators()) == 4  # back in the set, signing again
    net.assert_same_app_hashes(net.min_height())
