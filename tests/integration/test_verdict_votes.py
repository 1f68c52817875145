"""Vote extensions on a real 4-validator CometBFT network: a dispute created by real txs is
resolved by the validators' verdicts within a bounded number of blocks, and a validator that
signs malformed extensions is rejected without halting the chain."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import chain.pb  # noqa: F401

import pytest

from chain import crypto
from chain.cli.tx import get_account
from chain.nodeconfig import VERDICT_INBOX
from chain.verdict_inbox import VerdictInbox
from infera.agreement.v1 import types_pb2 as R
from infera.inference.v1 import query_pb2 as inference_query
from infera.inference.v1 import types_pb2 as J
from infera.workers.v1 import query_pb2 as workers_query
from modules.agreement import logic
from tests.harness import build_tx
from tests.integration.conftest import LocalNetwork, infera, tx_hash, wait_committed
from tests.modules.jobs import OUTPUT, commit_msg, reveal_msg, submit_msg
from tests.modules.serving import register_model_msg, register_worker_msg, serve_msg

pytestmark = pytest.mark.integration

OTHER = [9, 9, 9]
GAS, FEE = 400_000, 10_000
STAKE = 1_000_000  # the default minimum worker stake
SPANS = [(0, 4), (4, 8)] * 3


@dataclass
class Actor:
    """A dev account shaped like tests.harness.Key, so the message helpers accept it."""

    name: str
    private: bytes
    public: bytes

    @property
    def address(self) -> bytes:
        return crypto.address_from_secp256k1(self.public)

    @property
    def bech32(self) -> str:
        return crypto.to_bech32(self.address)


def _send_all(net: LocalNetwork, signed: list[tuple[Actor, tuple]]) -> None:
    """Broadcast one tx per (actor, messages) at once (distinct actors), then wait for all."""
    rpc = net.nodes[0].rpc
    raws = []
    for actor, msgs in signed:
        state = get_account(rpc, actor.bech32)
        raws.append(build_tx(list(msgs), [actor], sequences=[state.sequence],
                             account_numbers=[state.account_number], chain_id=net.chain_id,
                             fee=FEE, gas=GAS))  # fmt: skip
    for raw in raws:
        result = rpc.broadcast_tx_sync(raw)
        assert int(result["code"]) == 0, result["log"]
    found = wait_committed(rpc, [tx_hash(raw) for raw in raws])
    for result in found.values():
        assert int(result["tx_result"]["code"]) == 0, result["tx_result"]["log"]


def _send(net: LocalNetwork, actor: Actor, *msgs) -> None:
    _send_all(net, [(actor, msgs)])


def _job(net: LocalNetwork, job_id: int = 1) -> J.Job:
    return net.nodes[0].rpc.query(
        "/infera.inference.v1.Query/Job", inference_query.QueryJobRequest(job_id=job_id),
        inference_query.QueryJobResponse,
    ).job  # fmt: skip


def _stake(net: LocalNetwork, actor: Actor) -> int:
    stats = net.nodes[0].rpc.query(
        "/infera.workers.v1.Query/WorkerStats",
        workers_query.QueryWorkerStatsRequest(operator=actor.bech32),
        workers_query.QueryWorkerStatsResponse,
    )
    return int(stats.stake)


def _wait(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def net(tmp_path, monkeypatch):
    network = LocalNetwork.testnet(tmp_path, validators=4)
    try:
        for index, node in enumerate(network.nodes):
            if index == 3:  # node3 signs malformed vote extensions
                monkeypatch.setenv("INFERA_UNSAFE_FAULT", "garbage-vote-extension")
            node.start()
            monkeypatch.delenv("INFERA_UNSAFE_FAULT", raising=False)
        for node in network.nodes:
            node.wait_height(3, timeout=90)
        yield network
    finally:
        network.close()


def test_dispute_resolved_by_verdicts_while_a_faulty_validator_is_ignored(net):
    actors = [Actor(a.name, a.private, a.public) for a in net.accounts]
    owner, workers, submitter = actors[0], actors[1:7], actors[7]
    _send(net, owner, register_model_msg(owner))
    _send_all(net, [(w, (register_worker_msg(w, stake=STAKE), serve_msg(w, start, end)))
                    for w, (start, end) in zip(workers, SPANS, strict=True)])  # fmt: skip
    # rounds of 10 tokens at the default windows: 10 + 20 commit, 10 reveal; 20 more to decide
    _send(net, submitter, submit_msg(submitter, deadline_blocks=60))
    job = _wait(lambda: (j := _job(net)).routes and j, "assignment")
    by_address = {w.bech32: w for w in workers}
    routes = [[by_address[h.worker] for h in route.hops] for route in job.routes]
    # route 0 is honest, route 1 ends with a hop that deviated, route 2 never shows up
    plan = [(w, OUTPUT) for w in routes[0]] + [(w, OTHER) for w in routes[1]]
    _send_all(net, [(w, (commit_msg(w, 1, tokens=tokens),)) for w, tokens in plan])
    _wait(lambda: net.nodes[0].height() > _job(net).commit_end_height, "commit window end")
    _send_all(net, [(w, (reveal_msg(w, 1, tokens=tokens),)) for w, tokens in plan])
    _wait(lambda: _job(net).state == J.JOB_STATE_DISPUTED, "the dispute")
    disputed_at = net.nodes[0].height()

    cheat = routes[1][1]
    verdict = R.Verdict(job_id=1, passing_output_hashes=[logic.compute_output_hash(OUTPUT, b"")],
                        culprits=[R.Culprit(route_index=1, hop_index=1)])  # fmt: skip
    for node in net.nodes:  # what each validator's verifier sidecar would write
        VerdictInbox(node.home / VERDICT_INBOX).write(verdict)

    final = _wait(lambda: (j := _job(net)).state == J.JOB_STATE_FINALIZED and j, "resolution", 90)
    resolved_in = net.nodes[0].height() - disputed_at
    assert final.output_hash == logic.compute_output_hash(OUTPUT, b"")
    assert resolved_in <= 6, f"dispute took {resolved_in} blocks"
    assert _stake(net, cheat) == STAKE - STAKE // 5
    assert _stake(net, routes[1][0]) == STAKE
    # the chain never halted, and the faulty validator still follows it with the same state
    height = net.nodes[0].height()
    for node in net.nodes:
        node.wait_height(height + 2, timeout=60)
    net.assert_same_app_hashes()
    print(f"dispute resolved {resolved_in} blocks after it opened")
    _auditor_cli_sees_the_history(net, cheat)


def _auditor_cli_sees_the_history(net: LocalNetwork, cheat: Actor) -> None:
    """What an auditor reads with the CLI: the job, its full history, filters."""
    node = ["--node", net.nodes[1].rpc_url, "-o", "json"]
    history = json.loads(infera("query", "agreement", "history", "1", *node).stdout)
    assert history["dispute"]["resolved"] and len(history["votes"]) >= 3
    assert all(v["culprits"] == [{"route_index": 1, "hop_index": 1}] for v in history["votes"])
    listed = json.loads(infera("query", "inference", "jobs", "--state", "finalized", *node).stdout)
    assert [j["id"] for j in listed["jobs"]] == ["1"]
    none = json.loads(
        infera(
            "query", "inference", "jobs", "--worker", cheat.bech32, "--state", "expired", *node
        ).stdout
    )
    assert not none.get("jobs")
    bad = infera("query", "inference", "jobs", "--state", "bogus", *node, check=False)
    assert bad.returncode != 0 and "unknown state" in bad.stderr
