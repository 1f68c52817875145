"""TEE-required models and sealed jobs on the wired app (issue 17 item 2): such a model takes
only sealed jobs; MsgSealPrompt re-checks that every hop still holds an attestation valid for
the requirement and bound to the key it registers (the key the boxes are sealed to), so a
re-key or an expiry between assignment and seal fails closed, and an assignment deferred past
the expiry finds no route and refunds; the Worker query shows the attestation (item 1)."""

from __future__ import annotations

import os

import chain.pb  # noqa: F401

import pytest

from chain import sealing
from infera.inference.v1 import types_pb2 as J
from infera.tee.v1 import tx_pb2 as tee_tx
from infera.tee.v1 import types_pb2 as T
from infera.workers.v1 import query_pb2 as workers_query
from infera.workers.v1 import tx_pb2 as workers_tx
from modules.tee import logic
from modules.tee.verifiers import insecure
from tests.harness import CHAIN_ID, Key
from tests.modules.inference.test_sealed_jobs import (
    boxes_for,
    seal_msg,
    sealed_commit,
    sealed_reveal,
    sealed_submit,
)
from tests.modules.jobs import advance_to, hops, job, make_job_chain, ok, run, submit_msg
from tests.modules.serving import FEE, apply_in_block, keeper
from tests.modules.tee.fixtures import MEASUREMENT, tee_params

EPOCH_BLOCKS = 20
VALIDITY_EPOCHS = 2  # an attestation made in epoch e expires at height (e + 2) * 20


@pytest.fixture
def node(tmp_path):
    chain_ = make_job_chain(
        tmp_path / "node", inference={"seal_window_blocks": 4, "max_deadline_blocks": 60}
    )
    params = tee_params(epoch_blocks=EPOCH_BLOCKS, validity_epochs=VALIDITY_EPOCHS)
    apply_in_block(chain_, lambda ctx: keeper(chain_, "tee").set_params(ctx, params))
    yield chain_
    chain_.store.close()


@pytest.fixture
def secrets():
    return sealing.JobSecrets(os.urandom(32))


def workers_of(node) -> list[Key]:
    return node.keys[1:7]


def worker_record(node, key: Key) -> workers_query.QueryWorkerResponse:
    res = node.query(
        "/infera.workers.v1.Query/Worker", workers_query.QueryWorkerRequest(operator=key.bech32)
    )
    assert res.code == 0, res.log
    return workers_query.QueryWorkerResponse.FromString(res.value)


def attest_msg(node, key: Key, *, epoch: int | None = None) -> tee_tx.MsgAttest:
    """A test report bound to ``key``'s worker as registered now, for the next block's epoch."""
    epoch = (node.height + 1) // EPOCH_BLOCKS if epoch is None else epoch
    pubkey = bytes(worker_record(node, key).worker.encryption_pubkey)
    digest = logic.compute_report_data(CHAIN_ID, epoch, pubkey, key.address)
    report = insecure.build_report(MEASUREMENT, logic.compute_report_data_field(digest, 64))
    return tee_tx.MsgAttest(
        operator=key.bech32, tee_type=T.TEE_TYPE_INSECURE_TEST, report=report, epoch=epoch
    )


def require_tee(node) -> None:
    owner = node.keys[0]
    msg = tee_tx.MsgSetModelRequirement(
        owner=owner.bech32, model_id="m", tee_types=[T.TEE_TYPE_INSECURE_TEST]
    )
    ok(node, (owner, msg))


def attest_all(node) -> None:
    ok(node, *[(w, attest_msg(node, w)) for w in workers_of(node)])


def rekey_msg(key: Key) -> workers_tx.MsgUpdateWorker:
    return workers_tx.MsgUpdateWorker(
        operator=key.bech32, encryption_pubkey=os.urandom(16) + b"rekeyed-worker-k"
    )


def test_tee_required_model_refuses_a_public_job(node):
    attest_all(node)
    require_tee(node)
    submitter = node.keys[7]
    before = node.balance(submitter.address)
    (result,) = run(node, (submitter, submit_msg(submitter)))
    assert (result.codespace, result.code) == ("tee", 23), result.log
    assert before - node.balance(submitter.address) == FEE  # the fee only, no escrow


def test_a_public_job_is_refused_even_before_any_worker_attested(node):
    require_tee(node)
    submitter = node.keys[7]
    (result,) = run(node, (submitter, submit_msg(submitter)))
    assert (result.codespace, result.code) == ("tee", 23)


def test_sealed_job_on_tee_required_model_seals_and_finalizes(node, secrets):
    attest_all(node)
    require_tee(node)
    submitter = node.keys[7]
    ok(node, (submitter, sealed_submit(submitter, secrets)))
    assert job(node, 1).state == J.JOB_STATE_ASSIGNED
    ok(node, (submitter, seal_msg(submitter, 1, boxes_for(node, 1, secrets))))
    route_workers = [w for route in hops(node, 1) for w in route]
    ok(node, *[(w, sealed_commit(w, 1, secrets)) for w in route_workers])
    reveals = [
        (w, sealed_reveal(w, 1, secrets, r, h))
        for r, route in enumerate(hops(node, 1))
        for h, w in enumerate(route)
    ]
    ok(node, *reveals)
    node.block()
    assert job(node, 1).state == J.JOB_STATE_FINALIZED


def test_sealed_job_without_attested_workers_cannot_be_routed(node, secrets):
    require_tee(node)
    submitter = node.keys[7]
    (result,) = run(node, (submitter, sealed_submit(submitter, secrets)))
    assert (result.codespace, result.code) == ("sharding", 5)  # no eligible coverage


def test_seal_refused_when_a_hop_rekeyed_after_assignment(node, secrets):
    attest_all(node)
    require_tee(node)
    submitter = node.keys[7]
    ok(node, (submitter, sealed_submit(submitter, secrets)))
    rekeyed = hops(node, 1)[1][1]  # a later hop: it would get the output key
    ok(node, (rekeyed, rekey_msg(rekeyed)))
    assert worker_record(node, rekeyed).attestation.binds_current_key is False
    (result,) = run(node, (submitter, seal_msg(submitter, 1, boxes_for(node, 1, secrets))))
    assert (result.codespace, result.code) == ("tee", 24), result.log
    assert job(node, 1).sealed.sealed_height == 0  # nothing stored
    # the worker re-attests its new key inside the seal window: the seal goes through
    ok(node, (rekeyed, attest_msg(node, rekeyed)))
    assert worker_record(node, rekeyed).attestation.binds_current_key is True
    ok(node, (submitter, seal_msg(submitter, 1, boxes_for(node, 1, secrets))))
    assert job(node, 1).sealed.sealed_height == node.height


def test_seal_refused_when_attestations_expired_after_assignment_then_refunded(node, secrets):
    attest_all(node)
    require_tee(node)
    expires = worker_record(node, workers_of(node)[0]).attestation.expires_height
    submitter = node.keys[7]
    advance_to(node, expires - 3)
    ok(node, (submitter, sealed_submit(submitter, secrets)))  # assigned at expires - 2
    assigned = job(node, 1)
    assert assigned.state == J.JOB_STATE_ASSIGNED
    assert assigned.sealed.seal_end_height >= expires  # the window reaches past the expiry
    advance_to(node, expires - 1)  # the next block is the first past the epoch boundary
    (result,) = run(node, (submitter, seal_msg(submitter, 1, boxes_for(node, 1, secrets))))
    assert (result.codespace, result.code) == ("tee", 25), result.log
    assert worker_record(node, workers_of(node)[0]).attestation.valid is False
    advance_to(node, assigned.sealed.seal_end_height)
    expired = job(node, 1)
    assert expired.state == J.JOB_STATE_EXPIRED
    assert expired.refunded == expired.max_fee  # refunded in full, nobody blamed


def test_seal_refused_when_the_requirement_now_wants_another_type(node, secrets):
    attest_all(node)
    require_tee(node)
    submitter, owner = node.keys[7], node.keys[0]
    ok(node, (submitter, sealed_submit(submitter, secrets)))
    stricter = tee_tx.MsgSetModelRequirement(
        owner=owner.bech32, model_id="m", tee_types=[T.TEE_TYPE_INTEL_TDX]
    )
    ok(node, (owner, stricter))
    (result,) = run(node, (submitter, seal_msg(submitter, 1, boxes_for(node, 1, secrets))))
    assert (result.codespace, result.code) == ("tee", 25), result.log


def test_seal_of_a_model_without_requirement_is_not_checked(node, secrets):
    submitter = node.keys[7]
    ok(node, (submitter, sealed_submit(submitter, secrets)))
    ok(node, (submitter, seal_msg(submitter, 1, boxes_for(node, 1, secrets))))


def test_worker_query_shows_the_current_attestation(node):
    first = workers_of(node)[0]
    assert not worker_record(node, first).HasField("attestation")  # never attested
    ok(node, (first, attest_msg(node, first)))
    shown = worker_record(node, first).attestation
    assert shown.tee_type == "TEE_TYPE_INSECURE_TEST"
    assert (shown.verifier, shown.verifier_version) == (insecure.NAME, insecure.VERSION)
    assert shown.measurement == MEASUREMENT and shown.tcb_status == "insecure-test"
    assert shown.height == node.height and shown.epoch == node.height // EPOCH_BLOCKS
    assert shown.expires_height == (shown.epoch + VALIDITY_EPOCHS) * EPOCH_BLOCKS
    assert shown.valid and shown.binds_current_key
    # judged at the queried height: valid before the boundary, not at it
    advance_to(node, shown.expires_height)
    assert worker_record(node, first).attestation.valid is False
    request = workers_query.QueryWorkerRequest(operator=first.bech32)
    earlier = node.query("/infera.workers.v1.Query/Worker", request, height=shown.height)
    assert workers_query.QueryWorkerResponse.FromString(earlier.value).attestation.valid


def test_assignment_after_the_expiry_finds_no_attested_route_and_refunds(tmp_path, secrets):
    chain_ = make_job_chain(
        tmp_path / "capped",
        inference={
            "seal_window_blocks": 4,
            "max_deadline_blocks": 60,
            "max_assignments_per_block": 1,  # the second job waits for the next block
        },
    )
    try:
        params = tee_params(epoch_blocks=EPOCH_BLOCKS, validity_epochs=VALIDITY_EPOCHS)
        apply_in_block(chain_, lambda ctx: keeper(chain_, "tee").set_params(ctx, params))
        attest_all(chain_)
        require_tee(chain_)
        expires = worker_record(chain_, workers_of(chain_)[0]).attestation.expires_height
        advance_to(chain_, expires - 2)
        first, second = chain_.keys[7], chain_.keys[8]
        ok(chain_, (first, sealed_submit(first, secrets)), (second, sealed_submit(second, secrets)))
        assert job(chain_, 1).state == J.JOB_STATE_ASSIGNED  # at expires - 1: still attested
        assert job(chain_, 2).state == J.JOB_STATE_SUBMITTED
        chain_.block()  # block `expires`: every attestation is past its boundary
        late = job(chain_, 2)
        assert late.state == J.JOB_STATE_EXPIRED and not late.routes
        assert late.reason.startswith("route assignment failed"), late.reason
        assert late.refunded == late.max_fee
    finally:
        chain_.store.close()
