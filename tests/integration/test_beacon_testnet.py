"""The randomness beacon on a real 4-validator ``infera testnet`` (issue 13).

``infera testnet`` derives each validator's BLS key from its priv_validator_key.json and
registers it in genesis (chain/nodeinit.py); ``infera start`` derives the same secret and signs a
share in every vote extension. So every height gets a beacon, read here with a Merkle proof
checked against the signed app hash (chain/light.py), and the chain is marked active, which makes
route, sampling and audit seeds wait for beacon values instead of using block hashes
(modules/beacon/README.md, "What modules get").
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator

import pytest

from chain import crypto
from chain.light import LightClient
from chain.nodeconfig import consensus_pubkey
from chain.nodeinit import beacon_secret
from modules.beacon import keys as beacon_keys
from modules.beacon import logic as beacon_logic
from tests.integration.conftest import LocalNetwork

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNetwork]:
    net = LocalNetwork.testnet(tmp_path_factory.mktemp("beacon"), validators=4, beacon=True)
    try:
        net.start(min_height=2, timeout=120)
        yield net
    finally:
        net.close()


def test_testnet_genesis_registers_every_validators_key(network: LocalNetwork) -> None:
    genesis = json.loads((network.nodes[0].home / "config" / "genesis.json").read_text())
    entries = genesis["app_state"]["beacon"]["keys"]
    assert len(entries) == 4
    expected = {
        beacon_logic.compute_pubkey(beacon_secret(node.home)).hex() for node in network.nodes
    }
    assert {base64.b64decode(e["bls_pubkey"]).hex() for e in entries} == expected


def test_every_block_has_a_proven_beacon(network: LocalNetwork) -> None:
    description = json.loads((network.root / "testnet.json").read_text())
    node = network.nodes[1]
    node.wait_height(8, timeout=180)
    with LightClient(
        rpc_url=node.rpc_url, grpc_address=description["nodes"][1]["grpc"], chain_id="infera-it"
    ) as light:
        # beacon(h) is stored while executing block h + 1; read it at height h + 1 (proven).
        values = {}
        for height in range(2, 7):
            verified = light.get(beacon_keys.value_key(height), height + 1)
            assert verified.value is not None, f"no beacon for height {height}"
            assert len(verified.value) == 32
            values[height] = verified.value
        assert len(set(values.values())) == len(values)  # a fresh value per height
        assert light.get(beacon_keys.ACTIVE, 7).value == b"1"
        # The value is the hash of the aggregate of the validators' unique signatures over
        # (chain id, height): recomputed from the keys, it is one of the 5 values of >= 3 of the
        # 4 signers (the proposer includes the precommits it has, at least 2/3 of the power).
        keys = [
            (crypto.consensus_address(consensus_pubkey(n.home)), beacon_secret(n.home))
            for n in network.nodes
        ]
        for height, value in values.items():
            shares = [
                beacon_logic.Share(
                    address,
                    10,
                    beacon_logic.compute_pubkey(secret),
                    beacon_logic.compute_share(secret, "infera-it", height),
                )
                for address, secret in keys
            ]
            candidates = {
                beacon_logic.compute_beacon(list(subset), 40)
                for size in (3, 4)
                for subset in itertools.combinations(shares, size)
            }
            assert value in candidates
