"""The SDK's staking, rewards and gov helpers (chain.client_staking) against one real node
(``infera start``: app + CometBFT), started once for the module: delegate -> rewards accrue ->
withdraw (delegator and commission) -> undelegate -> the tokens return; edit-validator; unjail
of a live validator and a self-redelegation refused with the modules' codes; a gov proposal
changing distribution's community tax, funded in two deposits, voted (plain and weighted),
passes and takes effect; an invalid community tax is refused at submit with gov's code and
opens nothing. Client-side refusals (bad amounts, unknown vote options) need no node."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import chain.pb  # noqa: F401

import pytest
from cosmpy.aerial.wallet import LocalWallet
from cosmpy.crypto.keypairs import PrivateKey
from google.protobuf import json_format

from chain.client import Client, ClientError, TxError
from chain.client_staking import GOV_ADDRESS, Tally
from chain.keyring import Keyring
from infera.gov.v1 import tx_pb2 as gov_tx
from infera.gov.v1 import types_pb2 as gov_types
from modules.gov.params import default_params as gov_defaults
from tests.integration.conftest import (
    TIMEOUT_COMMIT,
    NodeProcess,
    _have_cometbft,
    init_solo_node,
    load_dev_accounts,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not _have_cometbft(), reason="cometbft not found: run `make install`"),
]

CHAIN_ID = "infera-sdk-staking"
UNBONDING_S = 3
VOTING_S = 6  # block-time seconds: room for two deposits and three votes
DEPOSIT_S = 30
MIN_DEPOSIT = 1_000


@dataclass
class Node:
    client: Client
    validator: LocalWallet  # the operator of the only validator
    alice: LocalWallet
    bob: LocalWallet
    carol: LocalWallet

    @property
    def operator(self) -> str:
        return str(self.validator.address())


def _patch_genesis(home: Path) -> None:
    path = home / "config" / "genesis.json"
    genesis = json.loads(path.read_text())
    state = genesis["app_state"]
    state["staking"]["params"]["unbonding_time_ns"] = str(UNBONDING_S * 10**9)
    params = gov_defaults()
    params.min_deposit.amount = str(MIN_DEPOSIT)
    params.voting_period_s = VOTING_S
    params.max_deposit_period_s = DEPOSIT_S
    state["gov"] = {"params": json_format.MessageToDict(params, preserving_proto_field_name=True)}
    path.write_text(json.dumps(genesis))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    home, rpc, grpc = init_solo_node(
        tmp_path_factory.mktemp("sdk-staking"), CHAIN_ID, TIMEOUT_COMMIT
    )
    _patch_genesis(home)
    process = NodeProcess("solo", home, rpc)
    process.start()
    try:
        process.wait_height(2)
        key = Keyring(home).get("validator")
        validator = LocalWallet(PrivateKey(key.private_key()), prefix="infera")
        dev = [
            LocalWallet.from_mnemonic(a.mnemonic, prefix="infera")
            for a in load_dev_accounts(home / "dev-accounts.json")
        ]
        with Client(grpc, poll_interval=0.1) as client:
            yield Node(client, validator, dev[0], dev[1], dev[2])
    finally:
        if process.process is not None:
            process.stop()


def _paid_fee(client: Client, result) -> int:
    return client.fee_for(result.gas_wanted)  # the SDK's fee: ceil(gas limit x gas price)


def test_delegate_rewards_withdraw_commission_undelegate(node: Node) -> None:
    client, alice = node.client, node.alice
    me = str(alice.address())
    amount = 5_000_000
    assert client.delegation(me, node.operator) is None
    client.delegate(alice, node.operator, amount)
    found = client.delegation(me, node.operator)
    assert found is not None and found.tokens == amount and found.shares > 0
    assert [d.validator_address for d in client.delegations(me)] == [node.operator]

    for _ in range(3):  # fees for the validator and its delegators to earn
        client.send(node.bob, me, 1)
    deadline = time.monotonic() + 20
    while (owed := client.rewards(me, node.operator)) == 0:
        assert time.monotonic() < deadline, "no rewards accrued"
        time.sleep(0.2)

    before = client.balance(me)
    withdrawal = client.withdraw_rewards(alice, node.operator)
    assert withdrawal.amount >= owed > 0
    assert client.balance(me) == before - _paid_fee(client, withdrawal.result) + withdrawal.amount

    commission = client.commission(node.operator)
    assert commission > 0  # the validator's own cut of its delegators' rewards
    before = client.balance(node.operator)
    paid = client.withdraw_commission(node.validator)
    assert paid.amount >= commission
    assert client.balance(node.operator) == before - _paid_fee(client, paid.result) + paid.amount

    unbonding = client.undelegate(alice, node.operator, amount)
    assert unbonding.amount == amount and unbonding.completion_time_ns > 0
    entries = client.unbonding_entries(me, node.operator)
    assert [(e.balance, e.completion_time_ns) for e in entries] == [
        (amount, unbonding.completion_time_ns)
    ]
    assert client.delegation(me, node.operator) is None
    settled = client.balance(me)  # rewards settled by the undelegation already included
    deadline = time.monotonic() + UNBONDING_S + 20
    while client.balance(me) < settled + amount:
        assert time.monotonic() < deadline, "unbonded tokens never returned"
        time.sleep(0.2)
    assert client.balance(me) == settled + amount
    assert client.unbonding_entries(me, node.operator) == []


def test_edit_validator_and_unjail_of_a_live_validator(node: Node) -> None:
    client = node.client
    client.edit_validator(node.validator, moniker="renamed")
    validator = client.validator(node.operator)
    assert validator is not None and validator.moniker == "renamed" and not validator.jailed
    with pytest.raises(TxError) as refused:
        client.unjail(node.validator)
    assert (refused.value.result.codespace, refused.value.result.code) == ("slashing", 3)
    assert client.signing_info(node.operator) is not None
    with pytest.raises(TxError) as refused:  # one validator: only a self-redelegation to try
        client.redelegate(node.bob, node.operator, node.operator, 1)
    assert (refused.value.result.codespace, refused.value.result.code) == ("staking", 13)


def _tax_change(client: Client, tax: str) -> gov_tx.MsgUpdateParams:
    params = client.module_params("distribution")
    params.community_tax = tax
    return client.update_params_msg("distribution", params)


def test_gov_changes_the_community_tax_through_the_sdk(node: Node) -> None:
    client = node.client
    assert client.module_params("distribution").community_tax == "0.02"
    msg = _tax_change(client, "0.25")
    assert msg.authority == GOV_ADDRESS
    submitted = client.submit_proposal(
        node.alice, [msg], deposit=MIN_DEPOSIT // 2, title="tax", summary="fund the pool"
    )
    proposal = client.proposal(submitted.proposal_id)
    assert proposal is not None and proposal.status == gov_types.PROPOSAL_STATUS_DEPOSIT_PERIOD
    client.deposit(node.bob, submitted.proposal_id, MIN_DEPOSIT // 2)
    proposal = client.proposal(submitted.proposal_id)
    assert proposal.status == gov_types.PROPOSAL_STATUS_VOTING_PERIOD
    assert proposal.total_deposit.amount == str(MIN_DEPOSIT)

    client.delegate(node.carol, node.operator, 1_000_000)  # stake of her own to vote with
    client.vote(node.validator, submitted.proposal_id, "yes")
    client.weighted_vote(node.carol, submitted.proposal_id, {"yes": "0.5", "no": "0.5"})
    vote = client.gov_vote(submitted.proposal_id, str(node.carol.address()))
    assert vote is not None and [o.weight for o in vote.options] == ["0.5", "0.5"]
    running = client.tally(submitted.proposal_id)
    assert isinstance(running, Tally) and running.yes > running.no > 0

    closed = client.wait_proposal(submitted.proposal_id, timeout=60)
    assert closed.status == gov_types.PROPOSAL_STATUS_PASSED, closed
    assert client.tally(submitted.proposal_id).yes == int(closed.final_tally_result.yes_count) > 0
    assert client.module_params("distribution").community_tax == "0.25"


def test_an_invalid_param_proposal_is_refused_at_submit(node: Node) -> None:
    client = node.client
    known = [p.id for p in client.proposals()]
    before = client.balance(str(node.alice.address()))
    with pytest.raises(TxError) as refused:
        client.submit_proposal(
            node.alice, [_tax_change(client, "1.5")], deposit=MIN_DEPOSIT, title="bad tax"
        )
    result = refused.value.result
    assert (result.codespace, result.code) == ("gov", 20), result.log  # gov ErrInvalidParams
    assert "community_tax" in result.log
    assert [p.id for p in client.proposals()] == known
    assert client.balance(str(node.alice.address())) == before  # refused before broadcast


def test_client_side_refusals_need_no_node() -> None:
    wallet = LocalWallet(PrivateKey(b"\x01" * 32), prefix="infera")
    client = Client("127.0.0.1:1")  # nothing listens: these fail before any call
    try:
        for bad in (0, -5, True, "10"):
            with pytest.raises(ClientError, match="positive integer"):
                client.delegate(wallet, "infera1x", bad)  # type: ignore[arg-type]
        with pytest.raises(ClientError, match="unknown vote option"):
            client.vote(wallet, 1, "maybe")
        with pytest.raises(ClientError, match="unknown vote option"):
            client.weighted_vote(wallet, 1, {"yes": "0.5", "perhaps": "0.5"})
        with pytest.raises(ClientError, match="unknown vote option"):
            client.vote(wallet, 1, 9)
        with pytest.raises(ClientError, match="unknown vote option"):
            client.vote(wallet, 1, True)
    finally:
        client.close()
