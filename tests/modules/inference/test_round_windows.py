"""A job's commit window grows with max_new_tokens (base + ceil(tokens x milli-blocks / 1000)),
both windows are fixed at submission, and the deadline must leave room for them (0 asks for the
rounds plus min_deadline_blocks)."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from infera.agreement.v1 import types_pb2 as agreement_types
from infera.inference.v1 import types_pb2
from modules.agreement import logic
from modules.agreement.params import default_params, validate_params
from tests.modules.jobs import (
    COMMIT_WINDOW,
    INFERENCE_PARAMS,
    REVEAL_WINDOW,
    job,
    make_job_chain,
    ok,
    run,
    submit_msg,
)

PER_TOKEN = 1500  # milli-blocks: 1.5 blocks per token
MIN_DEADLINE = INFERENCE_PARAMS["min_deadline_blocks"]


@pytest.fixture
def node(tmp_path):
    chain_ = make_job_chain(tmp_path / "w", agreement={"commit_milli_blocks_per_token": PER_TOKEN})
    yield chain_
    chain_.store.close()


@pytest.mark.parametrize(
    "tokens, milli, window",
    [(10, 1500, 3 + 15), (1, 1500, 3 + 2), (3, 333, 3 + 1), (7, 0, 3), (1024, 2000, 3 + 2048)],
)
def test_commit_window_is_base_plus_rounded_up_token_blocks(tokens, milli, window):
    params = agreement_types.Params(
        commit_window_blocks=3, reveal_window_blocks=4, commit_milli_blocks_per_token=milli
    )
    assert logic.compute_round_windows(params, tokens) == (window, 4)


def test_a_job_gets_a_commit_window_for_its_tokens(node):
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter, max_new_tokens=10, deadline_blocks=30)))
    ok(node, (submitter, submit_msg(submitter, max_new_tokens=2, deadline_blocks=30)))
    long, short = job(node, 1), job(node, 2)
    assert (long.commit_window_blocks, long.reveal_window_blocks) == (COMMIT_WINDOW + 15, 3)
    assert long.commit_end_height == long.assign_height + COMMIT_WINDOW + 15
    assert long.reveal_end_height == long.commit_end_height + REVEAL_WINDOW
    assert short.commit_end_height == short.assign_height + COMMIT_WINDOW + 3


def test_deadline_zero_gives_the_rounds_plus_min_deadline_blocks(node):
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter, max_new_tokens=10, deadline_blocks=0)))
    found = job(node, 1)
    rounds = COMMIT_WINDOW + 15 + REVEAL_WINDOW
    assert found.deadline_height == found.submit_height + rounds + MIN_DEADLINE


def test_submit_job_rejects_a_deadline_shorter_than_its_token_scaled_rounds(node):
    submitter = node.keys[7]
    # 10 tokens: commit 3 + 15, reveal 3 = 21 blocks of rounds; the deadline must exceed them
    (result,) = run(node, (submitter, submit_msg(submitter, max_new_tokens=10, deadline_blocks=21)))
    assert (result.codespace, result.code) == ("inference", 11)
    assert "22..40" in result.log and "take 21" in result.log
    ok(node, (submitter, submit_msg(submitter, max_new_tokens=10, deadline_blocks=22)))
    # fewer tokens, shorter rounds: the same deadline that failed above is fine
    ok(node, (submitter, submit_msg(submitter, max_new_tokens=4, deadline_blocks=21)))


def test_windows_are_fixed_at_submission(tmp_path):
    """A job waiting for assignment keeps the windows of its submission block, even when the
    params change before it is assigned."""
    node = make_job_chain(
        tmp_path / "fixed",
        inference={"max_assignments_per_block": 1},
        agreement={"commit_milli_blocks_per_token": PER_TOKEN},
    )
    submitter = node.keys[7]
    msg = submit_msg(submitter, redundancy=1, max_new_tokens=10, deadline_blocks=30)
    ok(node, (submitter, msg), (submitter, msg))  # job 2 waits for the next block
    agreement = next(m for m in node.app.modules if m.name == "agreement")

    def faster_params(ctx, misbehavior) -> None:  # a params change landing in the next block
        params = agreement.keeper.get_params(ctx)
        params.commit_milli_blocks_per_token = 0
        agreement.keeper.set_params(ctx, params)

    agreement.begin_block = faster_params
    ok(node, (submitter, msg))  # job 3: submitted after the change, assigned after job 2
    del agreement.begin_block
    node.block()
    deferred, later = job(node, 2), job(node, 3)
    assert deferred.assign_height == job(node, 1).assign_height + 1
    assert deferred.commit_end_height == deferred.assign_height + COMMIT_WINDOW + 15
    assert later.state == types_pb2.JOB_STATE_ASSIGNED
    assert later.commit_end_height == later.assign_height + COMMIT_WINDOW
    node.store.close()


def test_params_refuse_an_absurd_per_token_window():
    params = default_params()
    params.commit_milli_blocks_per_token = 1_000_001
    with pytest.raises(ValueError, match="commit_milli_blocks_per_token"):
        validate_params(params)
