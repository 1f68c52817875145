"""Proven queries on a real 4-validator network: honest answers verify, tampered ones do not.

Every rejected case starts from real data (a proof from gRPC, a header and commit from CometBFT
RPC) and changes one thing.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass

import chain.pb  # noqa: F401

import pytest

from chain import crypto
from chain.client import Client
from chain.cometbft import BLOCK_ID_FLAG_ABSENT, BLOCK_ID_FLAG_COMMIT
from chain.light import LightClient, ProvenValue, VerificationError, verify_proven
from modules.bank import keys as bank_keys
from tests.integration.conftest import LocalNetwork, infera

pytestmark = pytest.mark.integration


@dataclass
class Net:
    network: LocalNetwork
    grpc: list[str]  # gRPC address of each node

    def light(self, index: int = 1) -> LightClient:
        return LightClient(
            rpc_url=self.network.nodes[index].rpc_url,
            grpc_address=self.grpc[index],
            chain_id=self.network.chain_id,
        )


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    network = LocalNetwork.testnet(tmp_path_factory.mktemp("light"), validators=4)
    description = json.loads((network.root / "testnet.json").read_text())
    try:
        network.start(min_height=3)
        yield Net(network, [n["grpc"] for n in description["nodes"]])
    finally:
        network.close()


def _send_and_wait(net: Net, amount: int) -> int:
    """A bank send from dev0 to dev1 through node0's gRPC; returns its height."""
    accounts = net.network.accounts
    with Client(net.grpc[0], poll_interval=0.1) as sdk:
        result = sdk.send(Client.wallet(accounts[0].mnemonic), accounts[1].address, amount)
    return result.height


def _balance_key(net: Net, index: int) -> bytes:
    return bank_keys.balance_key(crypto.from_bech32(net.network.accounts[index].address), "uinfera")


def _real_data(light: LightClient, key: bytes, height: int) -> tuple:
    proven = light.fetch_proven(key, height)
    light.rpc.wait_height(height + 1)
    return proven, light.signed_header(height + 1), light.validators(height + 1)


def test_honest_balance_and_absence_verify(net: Net) -> None:
    height = _send_and_wait(net, 4321)
    with Client(net.grpc[1]) as sdk, net.light(1) as light:
        verified = light.get(_balance_key(net, 1), height)
        assert (
            verified.value
            == str(sdk.balance(net.network.accounts[1].address, height=height)).encode()
        )
        assert verified.signed_power * 3 > verified.total_power * 2 and verified.total_power == 40
        assert light.get(b"bank/bal/no-such-key", height).value is None
        assert light.get(_balance_key(net, 1)).height >= height  # latest provable height


def test_cli_prove_prints_a_verified_balance(net: Net) -> None:
    address = net.network.accounts[2].address
    node = net.network.nodes[2]
    out = infera(
        "query", "store", f"balance:{address}", "--prove",
        "--node", node.rpc_url, "--grpc", net.grpc[2], "-o", "json",
    )  # fmt: skip
    data = json.loads(out.stdout)
    assert data["verified"] is True and data["exists"] is True
    with Client(net.grpc[2]) as sdk:
        assert int(data["value_text"]) == sdk.balance(address, height=data["height"])
    bad = infera("query", "store", "balance:infera1nope", "--prove", "--node", node.rpc_url,
                 "--grpc", net.grpc[2], check=False)  # fmt: skip
    assert bad.returncode == 1 and "invalid key" in bad.stderr


def test_tampered_value_is_rejected(net: Net) -> None:
    with net.light() as light:
        height = light.latest_provable_height()
        proven, signed, validators = _real_data(light, _balance_key(net, 0), height)
        verify_proven(signed, validators, proven, net.network.chain_id)  # the honest answer
        assert proven.value is not None
        forged = ProvenValue(proven.key, proven.value + b"0", proven.proof, proven.height)
        with pytest.raises(VerificationError, match="app hash"):
            verify_proven(signed, validators, forged, net.network.chain_id)


def test_proof_for_another_height_is_rejected(net: Net) -> None:
    with net.light() as light:
        before = light.latest_provable_height()
        after = _send_and_wait(net, 11)  # dev0's balance changes at `after`
        key = _balance_key(net, 0)
        old, _, _ = _real_data(light, key, before)
        _, signed, validators = _real_data(light, key, after)
        with pytest.raises(VerificationError, match="needs header"):
            verify_proven(signed, validators, old, net.network.chain_id)
        relabelled = ProvenValue(old.key, old.value, old.proof, after)
        with pytest.raises(VerificationError, match="app hash"):
            verify_proven(signed, validators, relabelled, net.network.chain_id)


def test_header_signed_by_too_little_power_is_rejected(net: Net) -> None:
    with net.light() as light:
        height = light.latest_provable_height()
        proven, signed, validators = _real_data(light, _balance_key(net, 0), height)
        weak = copy.deepcopy(signed)
        signers = [s for s in weak.commit.signatures if s.block_id_flag == BLOCK_ID_FLAG_COMMIT]
        for sig in signers[: len(signers) - 2]:  # leave two of four validators: 20 of 40
            sig.block_id_flag = BLOCK_ID_FLAG_ABSENT
        with pytest.raises(VerificationError, match="voting power signed"):
            verify_proven(weak, validators, proven, net.network.chain_id)


def test_forged_signature_is_rejected(net: Net) -> None:
    with net.light() as light:
        height = light.latest_provable_height()
        proven, signed, validators = _real_data(light, _balance_key(net, 0), height)
        forged = copy.deepcopy(signed)
        sig = next(s for s in forged.commit.signatures if s.block_id_flag == BLOCK_ID_FLAG_COMMIT)
        sig.signature = sig.signature[:-1] + bytes([sig.signature[-1] ^ 0x55])
        with pytest.raises(VerificationError, match="invalid signature"):
            verify_proven(forged, validators, proven, net.network.chain_id)
