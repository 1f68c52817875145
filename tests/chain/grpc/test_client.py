"""The SDK (chain.client) against the in-process server and a tiny CometBFT stand-in.

The stand-in runs CheckTx for ``broadcast_tx_sync`` on the app (on the server's loop, as
CometBFT would through ABCI), keeps a mempool, and answers ``/tx`` for committed txs.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import chain.pb  # noqa: F401

import pytest
from cosmpy.aerial.wallet import LocalWallet
from cosmpy.crypto.keypairs import PrivateKey

from chain.client import Client, ClientError, TxError
from cosmos.bank.v1beta1 import tx_pb2 as bank_tx
from cosmos.base.v1beta1 import coin_pb2
from tendermint.abci import types_pb2 as abci
from tests.chain.grpc.conftest import GrpcHarness, RPCFailure
from tests.harness import CHAIN_ID, INITIAL_BALANCE


class MiniComet:
    """Mempool + committed results, enough for the SDK's broadcast and wait paths."""

    def __init__(self, h: GrpcHarness) -> None:
        self.h = h
        self.mempool: list[bytes] = []
        self.committed: dict[str, dict[str, Any]] = {}
        h.comet.methods.update(
            broadcast_tx_sync=self.broadcast, tx=self.tx, header=lambda p: {"header": {"time": ""}}
        )

    def broadcast(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = base64.b64decode(params["tx"])
        check = self.h.on_loop(lambda: self.h.chain.app.check_tx(abci.RequestCheckTx(tx=raw)))
        if check.code == 0:
            self.mempool.append(raw)
        txhash = hashlib.sha256(raw).hexdigest().upper()
        return {"code": check.code, "codespace": check.codespace, "log": check.log, "hash": txhash}

    def tx(self, params: dict[str, Any]) -> dict[str, Any]:
        txhash = base64.b64decode(params["hash"]).hex().upper()
        if txhash not in self.committed:
            raise RPCFailure(f"tx ({txhash}) not found")
        return self.committed[txhash]

    def commit_block(self) -> None:
        txs, self.mempool = self.mempool, []
        response = self.h.block(txs)
        for raw, result in zip(txs, response.tx_results, strict=True):
            txhash = hashlib.sha256(raw).hexdigest().upper()
            self.committed[txhash] = {
                "hash": txhash,
                "height": str(self.h.chain.height),
                "tx": base64.b64encode(raw).decode(),
                "tx_result": {
                    "code": result.code,
                    "log": result.log,
                    "gas_used": str(result.gas_used),
                    "gas_wanted": str(result.gas_wanted),
                },
            }


@pytest.fixture
def sdk(grpc_chain: GrpcHarness) -> tuple[Client, MiniComet, GrpcHarness]:
    client = Client(f"127.0.0.1:{grpc_chain.server.port}", chain_id=CHAIN_ID, poll_interval=0.05)
    yield client, MiniComet(grpc_chain), grpc_chain
    client.close()


def _wallet(h: GrpcHarness, index: int) -> LocalWallet:
    return LocalWallet(PrivateKey(h.chain.keys[index].private), prefix="infera")


def test_typed_queries(sdk: tuple[Client, MiniComet, GrpcHarness]) -> None:
    client, _, h = sdk
    address = h.chain.keys[0].bech32
    assert client.balance(address) == INITIAL_BALANCE
    assert client.all_balances(address) == {"uinfera": INITIAL_BALANCE}
    account = client.account(address)
    assert account is not None and account.address == address
    assert client.model("nope") is None
    assert list(client.models()) == []
    assert len(client.validators()) == 1
    assert client.params("staking").bond_denom == "uinfera"
    assert client.proven(b"auth/params").exists


def test_several_sends_from_one_account_in_one_block(
    sdk: tuple[Client, MiniComet, GrpcHarness],
) -> None:
    client, comet, h = sdk
    wallet, recipient = _wallet(h, 0), h.chain.keys[1].bech32
    pending = [client.send(wallet, recipient, 10 + i, wait=False) for i in range(3)]
    assert len(comet.mempool) == 3 and all(r.ok for r in pending)
    comet.commit_block()
    results = [client.wait_for_tx(r.txhash) for r in pending]
    assert [r.code for r in results] == [0, 0, 0] and {r.height for r in results} == {2}
    assert client.balance(recipient) == INITIAL_BALANCE + 10 + 11 + 12


def test_sequence_resyncs_after_a_mismatch(sdk: tuple[Client, MiniComet, GrpcHarness]) -> None:
    client, comet, h = sdk
    wallet, recipient = _wallet(h, 0), h.chain.keys[1].bech32
    client.send(wallet, recipient, 1, wait=False)
    address = str(wallet.address())
    number, _ = client._sequences[address]
    client._sequences[address] = (number, 7)  # e.g. another process used the same key
    result = client.send(wallet, recipient, 2, wait=False)
    assert result.ok and client._sequences[address] == (number, 2)
    comet.commit_block()
    assert client.wait_for_tx(result.txhash).ok


def test_failed_checktx_raises_and_keeps_the_sequence(
    sdk: tuple[Client, MiniComet, GrpcHarness],
) -> None:
    client, _, h = sdk
    wallet, recipient = _wallet(h, 0), h.chain.keys[1].bech32
    with pytest.raises(TxError, match="insufficient"):
        client.send(wallet, recipient, 1, fee=1, gas=100_000, wait=False)
    assert client._sequences[str(wallet.address())][1] == 0


def test_gas_estimate_survives_a_block_committed_between_account_read_and_simulation(
    sdk: tuple[Client, MiniComet, GrpcHarness], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, comet, h = sdk
    wallet, recipient = _wallet(h, 0), h.chain.keys[1].bech32
    address = str(wallet.address())
    stale = client.account(address)  # read before the block that includes the first send
    assert stale is not None and stale.sequence == 0
    assert client.send(wallet, recipient, 1, wait=False).ok
    comet.commit_block()  # the committed sequence is now 1
    monkeypatch.setattr(client, "account", lambda _address, height=0: stale)
    msgs = [_send_msg(address, recipient)]
    assert client.estimate_gas(wallet, msgs) > 0  # re-signed at the sequence the node named
    monkeypatch.undo()
    result = client.send(wallet, recipient, 2, wait=False)
    assert result.ok


def test_gas_estimate_reports_other_simulation_failures(
    sdk: tuple[Client, MiniComet, GrpcHarness],
) -> None:
    client, _, h = sdk
    wallet = _wallet(h, 0)
    address = str(wallet.address())
    too_much = _send_msg(address, h.chain.keys[1].bech32, amount=INITIAL_BALANCE * 10)
    with pytest.raises(ClientError, match="simulation failed: .*insufficient"):
        client.estimate_gas(wallet, [too_much])


def _send_msg(sender: str, recipient: str, amount: int = 1) -> bank_tx.MsgSend:
    return bank_tx.MsgSend(
        from_address=sender,
        to_address=recipient,
        amount=[coin_pb2.Coin(denom="uinfera", amount=str(amount))],
    )
