"""MsgCancelJob: only the submitter, only before assignment; the escrow comes back in full."""

from __future__ import annotations

import chain.pb  # noqa: F401

from infera.inference.v1 import types_pb2
from tests.harness import INITIAL_BALANCE
from tests.modules.jobs import cancel_msg, escrow_balance, job, make_job_chain, ok, run, submit_msg
from tests.modules.serving import FEE


def test_cancel_in_the_submitting_block_refunds_everything(node, submitter):
    results = ok(node, (submitter, submit_msg(submitter)), (submitter, cancel_msg(submitter, 1)))
    assert len(results) == 2
    cancelled = job(node, 1)
    assert cancelled.state == types_pb2.JOB_STATE_CANCELLED
    assert (cancelled.escrow, cancelled.refunded, cancelled.routes) == ("0", "1000", [])
    assert node.balance(submitter.address) == INITIAL_BALANCE - 2 * FEE
    assert escrow_balance(node) == 0


def test_cancel_a_job_still_waiting_for_the_assignment_cap(tmp_path):
    node = make_job_chain(tmp_path / "capped", inference={"max_assignments_per_block": 1})
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)), (submitter, submit_msg(submitter)))
    assert job(node, 1).state == types_pb2.JOB_STATE_ASSIGNED
    assert job(node, 2).state == types_pb2.JOB_STATE_SUBMITTED
    ok(node, (submitter, cancel_msg(submitter, 2)))
    assert job(node, 2).state == types_pb2.JOB_STATE_CANCELLED
    assert escrow_balance(node) == 1000  # job 1's escrow only
    node.store.close()


def _cancel_fails(node, signer, job_id: int, code: int) -> None:
    before_escrow, before = escrow_balance(node), node.balance(signer.address)
    (result,) = run(node, (signer, cancel_msg(signer, job_id)))
    assert (result.codespace, result.code) == ("inference", code), result.log
    assert escrow_balance(node) == before_escrow
    assert node.balance(signer.address) == before - FEE


def test_cancel_by_non_submitter_is_rejected(node, submitter):
    other = node.keys[8]
    (result,) = run(node, (submitter, submit_msg(submitter)), (other, cancel_msg(other, 1)))[1:]
    assert (result.codespace, result.code) == ("inference", 14), result.log
    assert job(node, 1).state == types_pb2.JOB_STATE_ASSIGNED


def test_cancel_after_assignment_is_rejected(node, submitter):
    ok(node, (submitter, submit_msg(submitter)))
    _cancel_fails(node, submitter, 1, 15)
    assert job(node, 1).state == types_pb2.JOB_STATE_ASSIGNED


def test_cancel_of_an_unknown_job_is_rejected(node, submitter):
    _cancel_fails(node, submitter, 9, 2)


def test_cancel_twice_is_rejected(node, submitter):
    ok(node, (submitter, submit_msg(submitter)), (submitter, cancel_msg(submitter, 1)))
    _cancel_fails(node, submitter, 1, 15)
