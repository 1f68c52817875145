"""A job's precision class: chosen at assignment among the model's classes, every hop of every
route declares it, and verification reads it from the job, never from a worker's current record
(issue 13, item 3)."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain.errors import ChainError
from infera.agreement.v1 import types_pb2 as R
from infera.inference.v1 import types_pb2 as J
from infera.workers.v1 import tx_pb2 as workers_tx
from modules.agreement import divergence, logic
from tests.modules.jobs import (
    OUTPUT,
    commit_msg,
    fingerprint,
    fingerprint_bundle,
    history,
    hops,
    job,
    make_job_chain,
    ok,
    reveal_msg,
    salt,
    submit_msg,
    worker_keys,
)
from tests.modules.serving import keeper, latest_ctx, runtime

FULL = [(0, 8)] * 6
MIXED = ["float32", "bfloat16", "float32", "bfloat16", "float32", "bfloat16"]


def _dtype(node, bech32: str) -> str:
    from tests.modules.jobs import key_of

    record = keeper(node, "workers").get_worker(latest_ctx(node), key_of(node, bech32).address)
    return record.runtime.dtype


def test_routes_of_a_job_come_from_one_precision_class_never_mixed(tmp_path):
    node = make_job_chain(tmp_path, spans=FULL, dtypes=MIXED)  # classes [float32, bfloat16]
    submitter = node.keys[7]
    sharding = keeper(node, "sharding")
    ctx = latest_ctx(node)
    for i in range(200):  # every seed: the three routes are three workers of ONE class
        precision, routes = sharding.select_job_routes(ctx, "m", 3, b"%d" % i)
        dtypes = {_dtype_of_operator(node, hop.operator) for route in routes for hop in route}
        assert dtypes == {precision} == {"float32"}  # the model's first class that works
    ok(node, (submitter, submit_msg(submitter, precision="bfloat16")))
    assigned = job(node, 1)
    assert assigned.precision == "bfloat16" and assigned.requested_precision == "bfloat16"
    assert {_dtype(node, h.worker) for r in assigned.routes for h in r.hops} == {"bfloat16"}


def _dtype_of_operator(node, operator: bytes) -> str:
    return keeper(node, "workers").get_worker(latest_ctx(node), operator).runtime.dtype


def test_a_job_falls_back_to_the_next_class_when_the_first_cannot_give_its_routes(tmp_path):
    dtypes = ["float32", "bfloat16", "bfloat16", "bfloat16", "float32", "bfloat16"]
    node = make_job_chain(tmp_path, spans=FULL, dtypes=dtypes)  # 2 float32: too few for r = 3
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    assigned = job(node, 1)
    assert assigned.precision == "bfloat16" and assigned.requested_precision == ""
    assert {_dtype(node, h.worker) for r in assigned.routes for h in r.hops} == {"bfloat16"}


def test_submit_job_rejects_a_precision_class_the_model_does_not_allow(tmp_path):
    node = make_job_chain(tmp_path)  # classes [float32]
    submitter = node.keys[7]
    [result] = _run(node, submitter, submit_msg(submitter, precision="bfloat16"))
    assert (result.codespace, result.code) == ("sharding", 8)
    with pytest.raises(ChainError) as err:
        keeper(node, "sharding").select_job_routes(
            latest_ctx(node), "m", 1, b"s", precision="float16"
        )
    assert (err.value.codespace, err.value.code) == ("sharding", 8)


def test_a_class_with_too_few_workers_is_refused_at_submission_not_mixed_in(tmp_path):
    dtypes = ["bfloat16", "float32", "float32", "float32", "float32", "float32"]
    node = make_job_chain(tmp_path, spans=FULL, dtypes=dtypes)
    submitter = node.keys[7]
    [result] = _run(node, submitter, submit_msg(submitter, precision="bfloat16", redundancy=2))
    assert (result.codespace, result.code) == ("sharding", 5)  # one bf16 worker: no 2 routes


def _run(node, signer, msg):
    from tests.modules.jobs import run

    return run(node, (signer, msg))


def _shifted(node, delta: int) -> bytes:
    honest = fingerprint(node.keys[0], 1)
    codes = divergence.own_fingerprint(honest)
    return fingerprint_bundle(
        list(codes.log_rms),
        [c + delta for c in codes.codes],
        probes=codes.probes,
        seed=codes.probe_seed,
        hidden=codes.hidden_size,
    )


def _play_with_dtype_change(node, new_dtype: str | None) -> None:
    """Job 1 (r = 3, two hops each); right after assignment every worker re-declares
    ``new_dtype`` (when given); route 2's last hop then reveals a fingerprint 1/32 off."""
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    if new_dtype is not None:
        ok(
            node,
            *[
                (w, workers_tx.MsgUpdateWorker(operator=w.bech32, runtime=runtime(new_dtype)))
                for w in worker_keys(node)
            ],
        )
    routes = hops(node, 1)
    odd, off = routes[2][1], _shifted(node, 1)  # 1/32 = 0.031: above 0.015, below 0.1
    commits, reveals = [], []
    for worker in [w for route in routes for w in route]:
        if worker is odd:
            output_hash = logic.compute_output_hash(OUTPUT, b"")
            commitment = logic.compute_commitment(output_hash, off, salt(worker, 1), worker.address)
            commits.append((worker, commit_msg(worker, 1, commitment=commitment)))
            reveals.append((worker, reveal_msg(worker, 1, shard_fingerprint=off)))
        else:
            commits.append((worker, commit_msg(worker, 1)))
            reveals.append((worker, reveal_msg(worker, 1)))
    ok(node, *commits)
    ok(node, *reveals)


def _settled(tmp_path, name: str, new_dtype: str | None):
    node = make_job_chain(
        tmp_path / name,
        vote_extensions_from=1,
        agreement={"audit_probability": "0"},
        dtypes=["bfloat16"] * 6,
    )
    _play_with_dtype_change(node, new_dtype)
    done = history(node, 1)
    assert done.job.precision == "bfloat16"  # recorded at assignment, never rewritten
    return done


def test_a_worker_changing_its_dtype_after_assignment_changes_nothing_about_verification(
    tmp_path,
):
    unchanged = _settled(tmp_path, "same", None)
    changed = _settled(tmp_path, "changed", "float32")  # float32 would mean 0.015: an audit
    for done in (unchanged, changed):
        assert not done.HasField("audit")  # the job's bf16 tolerance (0.1) judged it
        assert done.settlement.outcome == R.OUTCOME_FINALIZED
        assert done.job.state == J.JOB_STATE_FINALIZED

    def paid(done):  # the settlement but its heights (the change took one more block)
        return [p.SerializeToString(deterministic=True) for p in done.settlement.payouts]

    assert paid(unchanged) == paid(changed) and len(paid(changed)) == 7


def test_commits_feed_the_measured_speed_and_nothing_declared_does(tmp_path):
    node = make_job_chain(tmp_path)
    submitter = node.keys[7]
    ok(node, (submitter, submit_msg(submitter)))
    routes = hops(node, 1)
    workers = keeper(node, "workers")
    before = workers.get_worker(latest_ctx(node), routes[0][0].address)
    assert (before.speed, before.speed_samples) == (0, 0)  # unmeasured: coverage counts 500
    ok(node, *[(w, commit_msg(w, 1)) for route in routes for w in route])  # 1 block after
    after = workers.get_worker(latest_ctx(node), routes[0][0].address)
    assert after.speed_samples == 1 and after.speed == 1000 - 1000 * 1 // (3 + 1)  # window 3
