"""MsgCommitOutput: only the assigned hop's worker, once, inside the commit window; every hop
committed opens reveals at once. Each failure leaves the job's history untouched."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from infera.inference.v1 import types_pb2
from tests.modules.jobs import (
    advance_to,
    all_hops,
    cancel_msg,
    commit_msg,
    history,
    job,
    ok,
    run,
    submit_msg,
)
from tests.modules.serving import FEE


@pytest.fixture
def assigned(node, submitter):
    """Job 1 (r=3) assigned at height 4; commits allowed through height 7."""
    ok(node, (submitter, submit_msg(submitter)))
    return node


def _commit_fails(node, signer, msg, code: int, job_id: int = 1) -> str:
    before = history(node, job_id)
    balance = node.balance(signer.address)
    (result,) = run(node, (signer, msg))
    assert (result.codespace, result.code) == ("agreement", code), result.log
    after = history(node, job_id)
    assert (after.commitments, after.job.state) == (before.commitments, before.job.state)
    assert node.balance(signer.address) == balance - FEE
    return result.log


def test_first_commit_moves_the_job_to_committing(assigned):
    worker = all_hops(assigned, 1)[0]
    (result,) = ok(assigned, (worker, commit_msg(worker, 1)))
    state = history(assigned, 1)
    assert state.job.state == types_pb2.JOB_STATE_COMMITTING
    (stored,) = state.commitments
    assert (stored.worker, stored.route_index, stored.hop_index, stored.height) == (
        worker.bech32,
        0,
        0,
        5,
    )


def test_when_every_hop_committed_reveals_open_at_once(assigned):
    ok(assigned, *[(w, commit_msg(w, 1)) for w in all_hops(assigned, 1)])
    found = job(assigned, 1)
    assert found.state == types_pb2.JOB_STATE_REVEALING
    assert found.commit_end_height == 7  # the windows themselves do not move


def test_commit_on_the_last_block_of_the_window_is_accepted(assigned):
    advance_to(assigned, 6)
    worker = all_hops(assigned, 1)[0]
    ok(assigned, (worker, commit_msg(worker, 1)))  # height 7 == commit_end


def test_late_commit_is_rejected(assigned):
    hops = all_hops(assigned, 1)
    ok(assigned, (hops[0], commit_msg(hops[0], 1)))
    advance_to(assigned, 7)  # the commit window closed at the end of block 7
    assert job(assigned, 1).state == types_pb2.JOB_STATE_REVEALING
    _commit_fails(assigned, hops[1], commit_msg(hops[1], 1), 5)


def test_commit_by_a_worker_not_on_the_route_is_rejected(node, submitter):
    ok(node, (submitter, submit_msg(submitter, redundancy=1)))
    on_route = set(all_hops(node, 1))
    outsider = next(k for k in node.keys[1:7] if k not in on_route)  # a worker, not on this job
    _commit_fails(node, outsider, commit_msg(outsider, 1), 4)
    stranger = node.keys[9]  # not a worker at all
    _commit_fails(node, stranger, commit_msg(stranger, 1), 4)


def test_double_commit_is_rejected(assigned):
    worker = all_hops(assigned, 1)[0]
    ok(assigned, (worker, commit_msg(worker, 1)))
    _commit_fails(assigned, worker, commit_msg(worker, 1, tokens=[7]), 6)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_commitment_of_the_wrong_length_is_rejected(assigned, length):
    worker = all_hops(assigned, 1)[0]
    _commit_fails(assigned, worker, commit_msg(worker, 1, commitment=b"c" * length), 3)


def test_commit_to_an_unknown_job_is_rejected(assigned):
    worker = all_hops(assigned, 1)[0]
    (result,) = run(assigned, (worker, commit_msg(worker, 9)))
    assert (result.codespace, result.code) == ("agreement", 2)


def test_commit_to_a_job_without_routes_is_rejected(node, submitter):
    ok(node, (submitter, submit_msg(submitter)), (submitter, cancel_msg(submitter, 1)))
    worker = node.keys[1]
    _commit_fails(node, worker, commit_msg(worker, 1), 15)
