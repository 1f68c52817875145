"""A byzantine proposer on a real 4-validator CometBFT network: whenever node3 proposes, it injects
an extended commit holding only its own vote, claiming the whole set's power, with verdicts that
slash an honest hop of the open dispute. The others check the marker against the block's
LastCommit and their own validator set and reject it: none of node3's blocks is ever committed,
the chain keeps committing, the forged verdict is never applied, and all nodes agree."""

from __future__ import annotations

import pytest

from chain import crypto
from chain.nodeconfig import consensus_pubkey
from chain.unsafe_faults import FORGE_EXTENDED_COMMIT
from infera.inference.v1 import types_pb2 as J
from tests.integration.conftest import LocalNetwork
from tests.integration.test_verdict_votes import (
    OTHER,
    SPANS,
    STAKE,
    Actor,
    _job,
    _send,
    _send_all,
    _stake,
    _wait,
)
from tests.modules.jobs import OUTPUT, commit_msg, reveal_msg, submit_msg
from tests.modules.serving import register_model_msg, register_worker_msg, serve_msg

pytestmark = pytest.mark.integration

BLOCKS_WATCHED = 12  # after the dispute opens: node3 is the round-0 proposer of about 3 of them


@pytest.fixture
def net(tmp_path, monkeypatch):
    network = LocalNetwork.testnet(tmp_path, validators=4)
    try:
        for index, node in enumerate(network.nodes):
            if index == 3:
                monkeypatch.setenv("INFERA_UNSAFE_FAULT", FORGE_EXTENDED_COMMIT)
            node.start()
            monkeypatch.delenv("INFERA_UNSAFE_FAULT", raising=False)
        for node in network.nodes:
            node.wait_height(3, timeout=120)
        yield network
    finally:
        network.close()


def _forgeries(net: LocalNetwork) -> int:
    log = (net.nodes[3].home / "node.log").read_text(errors="replace")
    return log.count("forged extended commit")


def test_a_forged_extended_commit_is_rejected_and_its_verdict_never_applied(net):
    actors = [Actor(a.name, a.private, a.public) for a in net.accounts]
    owner, workers, submitter = actors[0], actors[1:7], actors[7]
    _send(net, owner, register_model_msg(owner))
    _send_all(net, [(w, (register_worker_msg(w, stake=STAKE), serve_msg(w, start, end)))
                    for w, (start, end) in zip(workers, SPANS, strict=True)])  # fmt: skip
    _send(net, submitter, submit_msg(submitter, deadline_blocks=80))
    job = _wait(lambda: (j := _job(net)).routes and j, "assignment")
    by_address = {w.bech32: w for w in workers}
    routes = [[by_address[h.worker] for h in route.hops] for route in job.routes]
    plan = [(w, OUTPUT) for w in routes[0]] + [(w, OTHER) for w in routes[1]]
    _send_all(net, [(w, (commit_msg(w, 1, tokens=tokens),)) for w, tokens in plan])
    _wait(lambda: net.nodes[0].height() > _job(net).commit_end_height, "commit window end", 180)
    _send_all(net, [(w, (reveal_msg(w, 1, tokens=tokens),)) for w, tokens in plan])
    _wait(lambda: _job(net).state == J.JOB_STATE_DISPUTED, "the dispute")
    # no honest validator has a verdict: only node3's forged one could settle the dispute
    disputed_at, forged_before = net.nodes[0].height(), _forgeries(net)
    _wait(lambda: _forgeries(net) > forged_before, "node3 to forge during the dispute", 120)
    for node in net.nodes[:3]:
        node.wait_height(disputed_at + BLOCKS_WATCHED, timeout=180)

    assert _job(net).state == J.JOB_STATE_DISPUTED  # not expired by a forged "nothing passes"
    assert _stake(net, routes[0][0]) == STAKE  # the honest hop the forgery names is not slashed
    byzantine = crypto.consensus_address(consensus_pubkey(net.nodes[3].home)).hex().upper()
    last = net.assert_same_app_hashes()
    proposers = {
        h: hdr["proposer_address"] for h, hdr in net.headers(net.nodes[0], 3, last).items()
    }
    assert byzantine not in proposers.values(), "a block with a forged commit was committed"
    print(f"node3 forged {_forgeries(net)} proposals; all rejected over {last} blocks")
