"""Governance on real CometBFT nodes, driven by the CLI: a param change passes and takes effect;
a software-upgrade plan stops the node at its height with a clear message, the same binary
stops again, and a binary with the handler (the test plugin) runs it once and the chain resumes;
four validators halt at the plan height and resume together with one app hash.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import chain.pb  # noqa: F401

import pytest
from google.protobuf import json_format

from chain.client import Client
from chain.upgrades import PLUGIN_ENV
from infera.agreement.v1 import query_pb2 as agreement_q
from modules.gov.params import default_params as gov_defaults
from tests.integration.conftest import TIMEOUT_COMMIT, NodeProcess, infera, init_solo_node
from tests.modules.gov import upgrade_plugin

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHAIN_ID = "infera-gov"
VOTING_S = 20  # seconds of block time: room for the CLI submit and vote on a loaded machine
PLUGIN = "tests.modules.gov.upgrade_plugin"


def _patch_genesis(home: Path, voting_s: int = VOTING_S) -> None:
    path = home / "config" / "genesis.json"
    genesis = json.loads(path.read_text())
    params = gov_defaults()
    params.min_deposit.amount = "1000"
    params.voting_period_s = voting_s
    params.max_deposit_period_s = voting_s
    dumped = json_format.MessageToDict(params, preserving_proto_field_name=True)
    genesis["app_state"]["gov"] = {"params": dumped}
    path.write_text(json.dumps(genesis))


def _cli(node: NodeProcess, grpc: str, *args: str) -> dict:
    out = infera(*args, "--home", str(node.home), "--grpc", grpc, "-o", "json")
    return json.loads(out.stdout)


def _proposal(node: NodeProcess, proposal_id: int) -> dict:
    out = infera("query", "gov", "proposal", str(proposal_id), "--node", node.rpc_url, "-o", "json")
    return json.loads(out.stdout)["proposal"]


def _pass(node: NodeProcess, grpc: str, tmp: Path, message: dict) -> dict:
    """Submit a one-message proposal (dev0 deposits), the validator votes yes; the closed
    proposal."""
    file = tmp / "proposal.json"
    file.write_text(json.dumps({"title": "t", "summary": "s", "messages": [message]}))
    submitted = _cli(
        node, grpc, "tx", "gov", "submit-proposal", str(file), "--deposit", "1000uinfera",
        "--from", "dev0",
    )  # fmt: skip
    proposal_id = int(submitted["proposal_id"])
    _cli(node, grpc, "tx", "gov", "vote", str(proposal_id), "yes", "--from", "validator")
    deadline = time.monotonic() + 60
    while (found := _proposal(node, proposal_id))["status"] == "PROPOSAL_STATUS_VOTING_PERIOD":
        assert time.monotonic() < deadline, found
        time.sleep(0.3)
    return found


def _audit_probability(grpc: str) -> str:
    with Client(grpc) as client:
        answer = client.query(
            "/infera.agreement.v1.Query/Params",
            agreement_q.QueryParamsRequest(),
            agreement_q.QueryParamsResponse,
        )
    return answer.params.audit_probability


def test_param_change_and_upgrade_halt_and_resume(tmp_path, monkeypatch):
    monkeypatch.delenv(PLUGIN_ENV, raising=False)
    home, rpc, grpc = init_solo_node(tmp_path, CHAIN_ID, TIMEOUT_COMMIT)
    _patch_genesis(home)
    node = NodeProcess("solo", home, rpc)
    node.start()
    try:
        node.wait_height(2)
        started, first = time.monotonic(), node.height()
        # 1. a param change through gov takes effect
        with Client(grpc) as client:
            current = client.query(
                "/infera.agreement.v1.Query/Params",
                agreement_q.QueryParamsRequest(),
                agreement_q.QueryParamsResponse,
            ).params
        assert current.audit_probability != "0.5"
        current.audit_probability = "0.5"
        params = json_format.MessageToDict(current, preserving_proto_field_name=True)
        message = {
            "@type": "/infera.gov.v1.MsgUpdateParams",
            "module": "agreement",
            "params": {"@type": "/infera.agreement.v1.Params", **params},
        }
        closed = _pass(node, grpc, tmp_path, message)
        assert closed["status"] == "PROPOSAL_STATUS_PASSED", closed
        assert closed["final_tally_result"]["yes_count"] != "0"
        assert _audit_probability(grpc) == "0.5"

        # 2. an upgrade plan stops the node at its height
        # the plan's height: well after the voting period ends, at the measured block rate
        rate = (node.height() - first) / (time.monotonic() - started)
        height = node.height() + int(rate * (VOTING_S + 15)) + 5
        plan = {"name": upgrade_plugin.NAME, "height": str(height), "info": "run v2"}
        upgrade = {"@type": "/infera.gov.v1.MsgSoftwareUpgrade", "plan": plan}
        closed = _pass(node, grpc, tmp_path, upgrade)
        assert closed["status"] == "PROPOSAL_STATUS_PASSED", closed
        assert node.process is not None
        assert node.process.wait(timeout=120) != 0  # the node exits by itself at the height
        log = (home / "node.log").read_text(errors="replace")
        assert f'UPGRADE \\"{upgrade_plugin.NAME}\\" NEEDED at height: {height}' in log or (
            f'UPGRADE "{upgrade_plugin.NAME}" NEEDED at height: {height}' in log
        ), node.log_tail(40)
        node.process = None

        # 3. the same binary stops again at the same block
        node.start()
        assert node.process is not None and node.process.wait(timeout=120) != 0
        assert log.count("NEEDED at height") < (home / "node.log").read_text().count("NEEDED at")
        node.process = None

        # 4. the new binary runs the migration once, and the chain goes on
        monkeypatch.setenv(PLUGIN_ENV, PLUGIN)
        node.start()
        node.wait_height(height + 5, timeout=120)
        out = infera("query", "gov", "applied", upgrade_plugin.NAME, "--node", rpc, "-o", "json")
        assert int(json.loads(out.stdout)["height"]) == height
        key = "hex:" + upgrade_plugin.RUNS_KEY.hex()
        out = infera("query", "store", key, "--node", rpc, "--grpc", grpc, "-o", "json")
        assert json.loads(out.stdout)["value_text"] == "1"  # ran once, at the plan height
        assert node.running, node.log_tail()
    finally:
        if node.process is not None:
            node.stop()


def test_four_validators_halt_at_the_upgrade_and_resume_together(tmp_path, monkeypatch):
    """Every validator stops at the plan height; restarted with the handler they agree on the
    upgrade block's app hash and go on."""
    from tests.integration.conftest import LocalNetwork

    monkeypatch.delenv(PLUGIN_ENV, raising=False)
    net = LocalNetwork.testnet(tmp_path, validators=4)
    description = json.loads((net.root / "testnet.json").read_text())
    grpc = description["nodes"][0]["grpc"]
    for node in net.nodes:
        _patch_genesis(node.home, voting_s=40)
    try:
        net.start()
        first, started = net.nodes[0].height(), time.monotonic()
        time.sleep(3)
        rate = (net.nodes[0].height() - first) / (time.monotonic() - started)
        height = net.nodes[0].height() + int(rate * 70) + 10  # after the 40 s vote, with margin
        plan = {"name": upgrade_plugin.NAME, "height": str(height), "info": "run v2"}
        file = tmp_path / "upgrade.json"
        message = {"@type": "/infera.gov.v1.MsgSoftwareUpgrade", "plan": plan}
        file.write_text(json.dumps({"title": "v2", "summary": "s", "messages": [message]}))
        node0 = net.nodes[0]
        submitted = _cli(
            node0, grpc, "tx", "gov", "submit-proposal", str(file), "--deposit", "1000uinfera",
            "--from", "dev0",
        )  # fmt: skip
        proposal_id = str(submitted["proposal_id"])
        for node in net.nodes[:3]:  # 3 of 4 equal validators: quorum and threshold met
            _cli(node, grpc, "tx", "gov", "vote", proposal_id, "yes", "--from", "validator")
        for node in net.nodes:
            assert node.process is not None
            assert node.process.wait(timeout=240) != 0, f"{node.name} did not stop"
            node.process = None
            assert "NEEDED at height: " + str(height) in (node.home / "node.log").read_text()
        monkeypatch.setenv(PLUGIN_ENV, PLUGIN)
        net.start(min_height=height + 3, timeout=180)
        assert net.assert_same_app_hashes(height + 3) >= height + 3
        out = infera("query", "gov", "applied", upgrade_plugin.NAME, "--node",
                     net.nodes[3].rpc_url, "-o", "json")  # fmt: skip
        assert int(json.loads(out.stdout)["height"]) == height
    finally:
        net.close()
