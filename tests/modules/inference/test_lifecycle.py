"""End-of-block work: assignment (capped per block, refunds when coverage thinned or time ran
out), deadlines (refund of whatever is left), and the state index moving with each job."""

from __future__ import annotations

import hashlib

import chain.pb  # noqa: F401

from infera.inference.v1 import query_pb2, types_pb2
from infera.workers.v1 import tx_pb2 as workers_tx
from tests.harness import INITIAL_BALANCE
from tests.modules import jobs
from tests.modules.jobs import (
    advance_to,
    escrow_balance,
    history,
    job,
    make_job_chain,
    ok,
    run,
    submit_msg,
)
from tests.modules.serving import FEE


def test_assignment_cap_defers_the_rest_to_the_next_block_with_that_blocks_seed(tmp_path):
    node = make_job_chain(tmp_path / "capped", inference={"max_assignments_per_block": 2})
    submitter = node.keys[7]
    ok(node, *[(submitter, submit_msg(submitter, redundancy=1)) for _ in range(3)])
    assert [job(node, i).state for i in (1, 2, 3)] == [types_pb2.JOB_STATE_ASSIGNED] * 2 + [
        types_pb2.JOB_STATE_SUBMITTED
    ]
    node.block()
    third = job(node, 3)
    assert (third.state, third.assign_height) == (types_pb2.JOB_STATE_ASSIGNED, 5)
    block5 = hashlib.sha256(b"block5").digest()
    assert third.seed == hashlib.sha256(block5 + (3).to_bytes(8, "big")).digest()
    node.store.close()


def test_deferred_job_too_close_to_its_deadline_is_refunded(tmp_path):
    node = make_job_chain(tmp_path / "late", inference={"max_assignments_per_block": 1})
    submitter = node.keys[7]
    ok(
        node,
        *[(submitter, submit_msg(submitter, redundancy=1, deadline_blocks=8)) for _ in range(3)],
    )
    node.block()  # job 2 assigned at height 5: 5 + 6 < 12
    node.block()  # job 3 at height 6: 6 + 6 >= 12, no time for the rounds
    third = job(node, 3)
    assert third.state == types_pb2.JOB_STATE_EXPIRED
    assert "too close to the deadline" in third.reason
    assert (third.escrow, third.refunded) == ("0", "1000")
    assert job(node, 2).state == types_pb2.JOB_STATE_ASSIGNED
    node.store.close()


def test_coverage_thinned_in_the_same_block_expires_and_refunds(node, submitter):
    worker = jobs.worker_keys(node)[0]
    stop = workers_tx.MsgStopServing(operator=worker.bech32, model_id="m", start=0, end=4)
    results = run(node, (submitter, submit_msg(submitter)), (worker, stop))
    assert [r.code for r in results] == [0, 0]
    expired = job(node, 1)
    assert expired.state == types_pb2.JOB_STATE_EXPIRED
    assert expired.reason.startswith("route assignment failed: ")
    assert "not enough active workers" in expired.reason
    assert node.balance(submitter.address) == INITIAL_BALANCE - FEE
    assert escrow_balance(node) == 0


def test_job_nobody_works_on_expires_with_refund_and_penalties(node, submitter):
    ok(node, (submitter, submit_msg(submitter)))
    assigned = job(node, 1)
    advance_to(node, assigned.commit_end_height)  # nobody committed: tallied at commit end
    expired = job(node, 1)
    assert expired.state == types_pb2.JOB_STATE_EXPIRED
    assert expired.final_height == assigned.commit_end_height
    assert "fewer than 2 routes" in expired.reason
    assert node.balance(submitter.address) == INITIAL_BALANCE - FEE
    penalties = history(node, 1).settlement.penalties
    assert [p.reason for p in penalties] == ["no_commit"] * 6
    assert [p.slashed for p in penalties] == ["10"] * 6  # 0.001 x 10_000 stake


def test_every_open_job_is_closed_by_its_deadline(node, submitter):
    ok(node, (submitter, submit_msg(submitter)), (submitter, submit_msg(submitter, redundancy=1)))
    advance_to(node, job(node, 1).deadline_height)
    for job_id in (1, 2):
        assert job(node, job_id).state == types_pb2.JOB_STATE_EXPIRED
    assert escrow_balance(node) == 0


def test_state_index_follows_the_job(node, submitter):
    ok(node, (submitter, submit_msg(submitter)))

    def ids_in(state: int) -> list[int]:
        res = node.query("/infera.inference.v1.Query/Jobs", query_pb2.QueryJobsRequest(state=state))
        return [j.id for j in query_pb2.QueryJobsResponse.FromString(res.value).jobs]

    assert ids_in(types_pb2.JOB_STATE_ASSIGNED) == [1]
    advance_to(node, job(node, 1).commit_end_height)
    assert ids_in(types_pb2.JOB_STATE_ASSIGNED) == []
    assert ids_in(types_pb2.JOB_STATE_EXPIRED) == [1]
