"""cosmpy, unmodified, against a real node's gRPC port: queries, sends, Infera's own messages.

Only cosmpy's public API is used for the cosmpy tests (LocalWallet, LedgerClient, NetworkConfig,
Transaction, prepare_and_broadcast_basic_transaction). The same node also serves the reflection,
bad-request and SDK tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import chain.pb  # noqa: F401

import grpc
import pytest
from cosmpy.aerial.client import LedgerClient, NetworkConfig
from cosmpy.aerial.client.utils import prepare_and_broadcast_basic_transaction
from cosmpy.aerial.tx import Transaction, TxFee
from cosmpy.aerial.wallet import LocalWallet
from cosmpy.crypto.address import Address
from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from chain.client import Client
from cosmos.auth.v1beta1 import query_pb2 as auth_query
from cosmos.auth.v1beta1 import query_pb2_grpc as auth_grpc
from cosmos.bank.v1beta1 import query_pb2 as bank_query
from cosmos.bank.v1beta1 import query_pb2_grpc as bank_grpc
from cosmos.base.query.v1beta1 import pagination_pb2
from cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from cosmos.base.tendermint.v1beta1 import query_pb2_grpc as tm_grpc
from cosmos.tx.v1beta1 import service_pb2, service_pb2_grpc
from infera.base.v1 import coin_pb2 as infera_coin
from infera.staking.v1 import tx_pb2 as staking_tx
from tests.integration.conftest import (
    TIMEOUT_COMMIT,
    DevAccount,
    NodeProcess,
    free_port_base,
    infera,
    load_dev_accounts,
)

pytestmark = pytest.mark.integration

CHAIN_ID = "infera-cosmpy"
DENOM = "uinfera"


@dataclass
class GrpcNode:
    node: NodeProcess
    grpc_address: str
    accounts: list[DevAccount]

    def ledger(self) -> LedgerClient:
        config = NetworkConfig(
            chain_id=CHAIN_ID,
            url=f"grpc+http://{self.grpc_address}",
            fee_minimum_gas_price=0.025,
            fee_denomination=DENOM,
            staking_denomination=DENOM,
        )
        return LedgerClient(config, query_interval_secs=1)

    def wallet(self, index: int) -> LocalWallet:
        return LocalWallet.from_mnemonic(self.accounts[index].mnemonic, prefix="infera")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrpcNode]:
    """One validator made by ``infera init``, serving gRPC on a free port."""
    base = free_port_base(1)
    home = tmp_path_factory.mktemp("cosmpy") / "home"
    infera(
        "init", "--home", str(home), "--chain-id", CHAIN_ID, "--moniker", "solo",
        "--timeout-commit", TIMEOUT_COMMIT, "--p2p-port", str(base), "--rpc-port", str(base + 1),
        "--abci-port", str(base + 2), "--grpc-port", str(base + 3), "--dev-accounts", "6",
    )  # fmt: skip
    process = NodeProcess("solo", home, f"http://127.0.0.1:{base + 1}")
    process.start()
    try:
        process.wait_height(2)
        yield GrpcNode(
            process, f"127.0.0.1:{base + 3}", load_dev_accounts(home / "dev-accounts.json")
        )
    finally:
        if process.process is not None:
            assert process.stop() == 0, "infera start did not exit cleanly on SIGTERM"


def test_cosmpy_reads_balance_height_and_chain_id(node: GrpcNode) -> None:
    client = node.ledger()
    assert client.query_bank_balance(node.wallet(0).address()) > 0
    assert client.query_height() >= 2
    assert client.query_chain_id() == CHAIN_ID
    account = client.query_account(node.wallet(0).address())
    assert account.number >= 0


def test_cosmpy_sends_with_estimated_fees(node: GrpcNode) -> None:
    client, sender = node.ledger(), node.wallet(0)
    recipient = Address(node.accounts[5].address)
    before = client.query_bank_balance(recipient)
    submitted = client.send_tokens(recipient, 1234, DENOM, sender)  # gas from Simulate
    submitted.wait_to_complete()
    tx = client.query_tx(submitted.tx_hash)
    assert tx.code == 0 and tx.height > 0 and tx.gas_used <= tx.gas_wanted
    assert "transfer" in tx.events and tx.timestamp is not None
    assert client.query_bank_balance(recipient) == before + 1234


def test_cosmpy_sends_with_an_explicit_fee(node: GrpcNode) -> None:
    client, sender = node.ledger(), node.wallet(1)
    recipient = Address(node.accounts[5].address)
    before = client.query_bank_balance(recipient)
    fee = TxFee(amount=f"2500{DENOM}", gas_limit=100_000)
    submitted = client.send_tokens(recipient, 77, DENOM, sender, fee=fee)
    response = submitted.wait_to_complete().response
    assert response is not None and response.code == 0 and response.gas_wanted == 100_000
    assert client.query_bank_balance(recipient) == before + 77


def test_cosmpy_signs_and_broadcasts_msg_create_validator(node: GrpcNode) -> None:
    import nacl.signing

    client, operator = node.ledger(), node.wallet(2)
    consensus_key = bytes(nacl.signing.SigningKey(hashlib.sha256(b"new-val").digest()).verify_key)
    msg = staking_tx.MsgCreateValidator(
        operator_address=str(operator.address()),
        consensus_pubkey=consensus_key,
        self_bond=infera_coin.Coin(denom=DENOM, amount="1000000"),  # power 1: the chain goes on
        moniker="cosmpy-made",
    )
    tx = Transaction()
    tx.add_message(msg)
    submitted = prepare_and_broadcast_basic_transaction(client, tx, operator)
    response = submitted.wait_to_complete().response
    assert response is not None and response.code == 0
    assert "create_validator" in response.events
    with Client(node.grpc_address) as sdk:
        validator = sdk.validator(str(operator.address()))
    assert validator is not None and validator.moniker == "cosmpy-made"


def test_reflection_client_lists_services_and_resolves_a_type(node: GrpcNode) -> None:
    with grpc.insecure_channel(node.grpc_address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        assert {
            "cosmos.bank.v1beta1.Query",
            "cosmos.tx.v1beta1.Service",
            "infera.store.v1.Query",
            "infera.models.v1.Query",
        } <= services
        pool = descriptor_pool.DescriptorPool(database)
        balance = pool.FindMessageTypeByName("cosmos.bank.v1beta1.QueryBalanceRequest")
        assert [f.name for f in balance.fields] == ["address", "denom"]
        job = pool.FindServiceByName("infera.inference.v1.Query").methods_by_name["Job"]
        assert job.output_type.full_name == "infera.inference.v1.QueryJobResponse"


def _status(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()  # type: ignore[operator]
    return info.value


def test_bad_requests_are_invalid_argument_or_not_found(node: GrpcNode) -> None:
    with grpc.insecure_channel(node.grpc_address) as channel:
        bank = bank_grpc.QueryStub(channel)
        txs = service_pb2_grpc.ServiceStub(channel)
        tm = tm_grpc.ServiceStub(channel)
        auth = auth_grpc.QueryStub(channel)
        address = node.accounts[0].address
        cases = [
            (lambda: bank.Balance(bank_query.QueryBalanceRequest(address="infera1bad", denom=DENOM)),
             grpc.StatusCode.INVALID_ARGUMENT, "invalid"),
            (lambda: bank.Balance(bank_query.QueryBalanceRequest(address=address, denom="$$")),
             grpc.StatusCode.INVALID_ARGUMENT, "invalid denom"),
            (lambda: txs.GetTx(service_pb2.GetTxRequest(hash="00" * 32)),
             grpc.StatusCode.NOT_FOUND, "tx not found"),
            (lambda: txs.GetTx(service_pb2.GetTxRequest(hash="nothex")),
             grpc.StatusCode.INVALID_ARGUMENT, "invalid tx hash"),
            (lambda: tm.GetBlockByHeight(tm_query.GetBlockByHeightRequest(height=10**12)),
             grpc.StatusCode.INVALID_ARGUMENT, "height"),
            (lambda: tm.GetBlockByHeight(tm_query.GetBlockByHeightRequest(height=-1)),
             grpc.StatusCode.INVALID_ARGUMENT, "positive"),
            (lambda: txs.GetTxsEvent(service_pb2.GetTxsEventRequest(query="tx.height>0", page=10**9)),
             grpc.StatusCode.INVALID_ARGUMENT, "page"),
            (lambda: txs.GetTxsEvent(service_pb2.GetTxsEventRequest(query="tx.height>0", limit=(1 << 64) - 1)),
             grpc.StatusCode.INVALID_ARGUMENT, "limit"),
            (lambda: auth.Accounts(auth_query.QueryAccountsRequest(
                pagination=pagination_pb2.PageRequest(limit=(1 << 64) - 1))),
             grpc.StatusCode.INVALID_ARGUMENT, "pagination"),
        ]  # fmt: skip
        for call, code, text in cases:
            err = _status(call)
            assert err.code() == code, (err.code(), err.details())
            assert text in err.details(), err.details()


def test_sdk_sends_several_txs_per_block_and_finds_them_by_event(node: GrpcNode) -> None:
    with Client(node.grpc_address, poll_interval=0.1) as sdk:
        wallet = Client.wallet(node.accounts[3].mnemonic)
        recipient = node.accounts[5].address
        before = sdk.balance(recipient)
        pending = [sdk.send(wallet, recipient, 100 + i, gas=80_000, wait=False) for i in range(5)]
        results = [sdk.wait_for_tx(p.txhash) for p in pending]
        assert all(r.ok for r in results)
        assert len({r.height for r in results}) < 5  # several landed in one block
        assert sdk.balance(recipient) == before + sum(100 + i for i in range(5))
        with grpc.insecure_channel(node.grpc_address) as channel:
            found = service_pb2_grpc.ServiceStub(channel).GetTxsEvent(
                service_pb2.GetTxsEventRequest(query=f"message.sender='{wallet.address()}'")
            )
        assert {r.txhash for r in results} <= {t.txhash for t in found.tx_responses}
        assert found.total >= 5
