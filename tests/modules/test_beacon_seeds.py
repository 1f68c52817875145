"""Seeds no proposer can steer: route and sampling seeds come from the beacon of the submission
height, audit draws from the beacon of the commit-end height; the block in which they are drawn
can hold any txs in any order and the seeds and draws stay the same."""

from __future__ import annotations

import hashlib

import chain.pb  # noqa: F401

import pytest

import tests.harness as harness
import tests.modules.jobs as jobs
from infera.inference.v1 import types_pb2 as J
from modules.agreement import logic as agreement_logic
from modules.inference import logic as inference_logic
from tests.harness import beacon_genesis, send_msg
from tests.modules.jobs import (
    FEE,
    GAS,
    advance_to,
    all_hops,
    commit_msg,
    job,
    make_job_chain,
    reveal_msg,
    submit_msg,
)
from tests.modules.serving import keeper, latest_ctx

AUDIT_PROBABILITY = "0.5"


@pytest.fixture
def chains(tmp_path, monkeypatch):
    """Two identical single-validator chains with a beacon, whose block hashes (as in CometBFT)
    depend on the block's txs."""
    genesis = jobs.genesis_app_state
    monkeypatch.setattr(
        jobs,
        "genesis_app_state",
        lambda keys, vals: {**genesis(keys, vals), "beacon": beacon_genesis(vals)},
    )
    request = harness.finalize_request

    def content_hashed(height, txs, *args, **kwargs):
        req = request(height, txs, *args, **kwargs)
        req.hash = hashlib.sha256(b"%d:" % height + b"".join(txs)).digest()
        return req

    monkeypatch.setattr(harness, "finalize_request", content_hashed)
    out = []
    for name in ("a", "b"):
        c = make_job_chain(
            tmp_path / name,
            vote_extensions_from=1,
            agreement={"audit_probability": AUDIT_PROBABILITY},
        )
        c.beacon = True  # from block 4 on the validator's extensions carry beacon shares
        c.block()
        out.append(c)
    yield out
    for c in out:
        c.store.close()


def _beacon(c, height: int) -> bytes:
    value = keeper(c, "beacon").get_beacon(latest_ctx(c), height)
    assert value is not None
    return value


def test_reordering_or_adding_txs_changes_no_seed_and_no_audit_draw(chains):
    a, b = chains
    alice, bob, carol, dave = a.keys[7], a.keys[8], a.keys[9], a.keys[0]

    def signed(key, msg):
        return a.tx(key, msg, gas=GAS, fee=FEE)

    submits = [signed(alice, submit_msg(alice)), signed(bob, submit_msg(bob))]
    for c in chains:  # block 5: the submissions, identical
        assert all(r.code == 0 for r in c.block(submits).tx_results)
    submitted = a.height
    assert job(a, 1).state == J.JOB_STATE_SUBMITTED  # waits for the beacon of its height
    # block 6, where the seeds are drawn: other txs, in another order, one more in b
    sends = [signed(k, send_msg(k, dave.address, 1)) for k in (alice, bob, carol)]
    a.block(sends[:2])
    b.block([sends[1], sends[0], sends[2]])
    for job_id in (1, 2):
        first, second = job(a, job_id), job(b, job_id)
        assert first.state == J.JOB_STATE_ASSIGNED
        assert first.seed == second.seed  # the route seed, also the sampling seed
        assert first.seed == inference_logic.compute_seed(_beacon(a, submitted), job_id)
        assert first.routes == second.routes
    # the commitments, then the reveals: the block that settles both jobs differs again
    workers = {job_id: all_hops(a, job_id) for job_id in (1, 2)}
    commits = [signed(w, commit_msg(w, j)) for j in (1, 2) for w in workers[j]]
    for c in chains:
        assert all(r.code == 0 for r in c.block(commits).tx_results)
    end = max(job(a, j).commit_end_height for j in (1, 2))
    advance_to(a, end)
    advance_to(b, end)
    reveals = [signed(w, reveal_msg(w, j)) for j in (1, 2) for w in workers[j]]
    a.block([*reveals, signed(carol, send_msg(carol, dave.address, 1))])
    b.block([signed(alice, send_msg(alice, dave.address, 1)), *reveals])
    for job_id in (1, 2):
        assert job(a, job_id).state == job(b, job_id).state == J.JOB_STATE_FINALIZED
        drawn = [
            keeper(c, "agreement").get_audit(latest_ctx(c), job_id) is not None for c in chains
        ]
        commit_end = job(a, job_id).commit_end_height
        expected = agreement_logic.is_audited(_beacon(a, commit_end), job_id, AUDIT_PROBABILITY)
        assert drawn == [expected, expected]
