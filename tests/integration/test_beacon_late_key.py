"""A validator that registers its BLS key after genesis, on a real 4-validator ``infera testnet
--beacon`` whose genesis registers only 3 keys: before, a beacon is the aggregate of exactly the 3
registered shares (or missing, when the proposer left one of their precommits out); after ``infera tx beacon register-key`` (the
real CLI, over gRPC, signed by the node's operator key) its node, without a restart, signs from
the next height on and the beacons include its share (read with Merkle proofs, chain/light.py)."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator

import pytest

from chain import crypto
from chain.light import LightClient
from chain.nodeconfig import consensus_pubkey
from chain.nodeinit import OPERATOR_KEY, beacon_secret
from modules.beacon import keys as beacon_keys
from modules.beacon import logic as beacon_logic
from tests.integration.conftest import LocalNetwork, infera

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHAIN_ID = "infera-it"
POWER = 10  # each testnet validator's voting power (as in test_beacon_testnet.py)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNetwork]:
    net = LocalNetwork.testnet(tmp_path_factory.mktemp("late"), validators=4, beacon=True)
    late = net.nodes[3]
    late_key = beacon_logic.compute_pubkey(beacon_secret(late.home))
    genesis_path = net.nodes[0].home / "config" / "genesis.json"
    genesis = json.loads(genesis_path.read_text())
    entries = genesis["app_state"]["beacon"]["keys"]
    kept = [e for e in entries if base64.b64decode(e["bls_pubkey"]) != late_key]
    assert len(kept) == 3
    genesis["app_state"]["beacon"]["keys"] = kept
    text = json.dumps(genesis, indent=2)
    for node in net.nodes:  # every node must start from the same genesis
        (node.home / "config" / "genesis.json").write_text(text)
    try:
        net.start(min_height=2, timeout=120)
        yield net
    finally:
        net.close()


def _shares(network: LocalNetwork, height: int, members: range) -> list[beacon_logic.Share]:
    out = []
    for node in (network.nodes[i] for i in members):
        secret = beacon_secret(node.home)
        out.append(beacon_logic.Share(
            crypto.consensus_address(consensus_pubkey(node.home)), POWER,
            beacon_logic.compute_pubkey(secret),
            beacon_logic.compute_share(secret, CHAIN_ID, height),
        ))  # fmt: skip
    return out


def test_a_key_registered_later_joins_the_beacon(network: LocalNetwork) -> None:
    description = json.loads((network.root / "testnet.json").read_text())
    reader = network.nodes[0]
    late = network.nodes[3]
    grpc = description["nodes"][0]["grpc"]
    reader.wait_height(4, timeout=180)
    with LightClient(rpc_url=reader.rpc_url, grpc_address=grpc, chain_id=CHAIN_ID) as light:
        # Before: only 3 keys, all 3 shares needed for > 2/3: a height has exactly their
        # aggregate, or no beacon when the proposer left one of their precommits out.
        for height in (2, 3):
            value = light.get(beacon_keys.value_key(height), height + 1).value
            three = beacon_logic.compute_beacon(_shares(network, height, range(3)), 40)
            assert value in (None, three)

    result = infera(
        "tx", "beacon", "register-key", "--from", OPERATOR_KEY, "--home", str(late.home),
        "--grpc", description["nodes"][3]["grpc"], "--gas", "25000000", "--output", "json",
        timeout=180,
    )  # fmt: skip
    registered = json.loads(result.stdout)["height"]
    first, last = int(registered) + 1, int(registered) + 5
    reader.wait_height(last + 2, timeout=240)
    with_late = 0
    with LightClient(rpc_url=reader.rpc_url, grpc_address=grpc, chain_id=CHAIN_ID) as light:
        for height in range(first, last + 1):
            value = light.get(beacon_keys.value_key(height), height + 1).value
            assert value is not None  # any 3 of the 4 keyed validators are > 2/3 now
            everyone = _shares(network, height, range(4))
            subsets = {
                beacon_logic.compute_beacon(list(s), 40)
                for size in (3, 4)
                for s in itertools.combinations(everyone, size)
            }
            assert value in subsets
            # Every subset but the original three's holds the late validator's share.
            with_late += value != beacon_logic.compute_beacon(
                _shares(network, height, range(3)), 40
            )
    # The proposer includes the precommits it has (>= 3 of 4); the late validator's share is in
    # the beacon at least at some of the 5 heights after its registration.
    assert with_late >= 1
