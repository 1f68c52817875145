"""The tee hooks at keeper level (fake workers and models): the Worker query's attestation view,
and the job policy inference asks at submission and at the seal (codes 23, 24, 25)."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain import crypto
from chain.errors import ChainError
from infera.inference.v1 import types_pb2 as J
from infera.tee.v1 import types_pb2 as T
from modules.tee import msg_server
from modules.tee.hooks import TeeAttestations, TeeJobPolicy
from tests.modules.tee.fixtures import MEASUREMENT, at, attest_msg, make_keeper, operator, pubkey


def _setup(attested=("w1", "w2")):  # type: ignore[no-untyped-def]
    """w1, w2 registered; ``attested`` attest (INSECURE_TEST, epoch 2: expires at 30) at 25."""
    keeper, workers, ctx = make_keeper()
    workers.add("w2")
    for name in attested:
        msg_server.attest(ctx, keeper, attest_msg(name))
    return keeper, workers, ctx


def _require(keeper, ctx, measurements=()) -> None:  # type: ignore[no-untyped-def]
    keeper.set_requirement(
        ctx,
        T.ModelRequirement(
            model_id="m", tee_types=[T.TEE_TYPE_INSECURE_TEST], measurements=measurements
        ),
    )


def _job(*names: str) -> J.Job:
    """A sealed job on "m" with one route whose hops are ``names``."""
    hops = [J.Hop(worker=crypto.to_bech32(operator(n)), layer_start=0, layer_end=4) for n in names]
    return J.Job(id=7, model_id="m", privacy=J.PRIVACY_MODE_SEALED, routes=[J.Route(hops=hops)])


def _code(call) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    with pytest.raises(ChainError) as err:
        call()
    return err.value.codespace, err.value.code


def test_attestation_view_none_before_attesting() -> None:
    keeper, _, ctx = _setup(attested=())
    assert TeeAttestations(keeper).get_worker_attestation(ctx, operator("w1"), pubkey("w1")) is None


def test_attestation_view_is_judged_at_the_block_and_against_the_key() -> None:
    keeper, _, ctx = _setup()
    view = TeeAttestations(keeper)
    shown = view.get_worker_attestation(ctx, operator("w1"), pubkey("w1"))
    assert shown is not None
    assert (shown.tee_type, shown.measurement) == ("TEE_TYPE_INSECURE_TEST", MEASUREMENT)
    assert (shown.epoch, shown.height, shown.expires_height) == (2, 25, 30)
    assert shown.valid and shown.binds_current_key
    rekeyed = view.get_worker_attestation(ctx, operator("w1"), pubkey("other"))
    assert rekeyed is not None and not rekeyed.binds_current_key
    late = view.get_worker_attestation(
        at(ctx.store, height=30, time_s=1_700_000_030), operator("w1"), pubkey("w1")
    )
    assert late is not None and not late.valid


def test_submit_public_job_refused_only_on_a_tee_required_model() -> None:
    keeper, workers, ctx = _setup()
    policy = TeeJobPolicy(keeper, workers)
    policy.check_submit(ctx, "m", J.PRIVACY_MODE_PUBLIC)  # no requirement: fine
    _require(keeper, ctx)
    assert _code(lambda: policy.check_submit(ctx, "m", J.PRIVACY_MODE_PUBLIC)) == ("tee", 23)
    policy.check_submit(ctx, "m", J.PRIVACY_MODE_SEALED)
    policy.check_submit(ctx, "other-model", J.PRIVACY_MODE_PUBLIC)


def test_seal_passes_with_every_hop_attested_and_bound() -> None:
    keeper, workers, ctx = _setup()
    _require(keeper, ctx)
    TeeJobPolicy(keeper, workers).check_seal(ctx, _job("w1", "w2"))


def test_seal_refuses_a_later_hop_whose_key_changed() -> None:
    keeper, workers, ctx = _setup()
    _require(keeper, ctx)
    workers.workers[operator("w2")].encryption_pubkey = pubkey("w2 new key")
    policy = TeeJobPolicy(keeper, workers)
    assert _code(lambda: policy.check_seal(ctx, _job("w1", "w2"))) == ("tee", 24)


def test_seal_refuses_an_unattested_hop_and_an_unknown_worker() -> None:
    keeper, workers, ctx = _setup(attested=("w1",))
    _require(keeper, ctx)
    policy = TeeJobPolicy(keeper, workers)
    assert _code(lambda: policy.check_seal(ctx, _job("w1", "w2"))) == ("tee", 25)
    assert _code(lambda: policy.check_seal(ctx, _job("w1", "nobody"))) == ("tee", 25)


def test_seal_refuses_at_the_epoch_boundary() -> None:
    keeper, workers, ctx = _setup()
    _require(keeper, ctx)
    policy = TeeJobPolicy(keeper, workers)
    policy.check_seal(at(ctx.store, height=29, time_s=1_700_000_029), _job("w1"))
    late = at(ctx.store, height=30, time_s=1_700_000_030)
    assert _code(lambda: policy.check_seal(late, _job("w1"))) == ("tee", 25)


def test_seal_refuses_a_measurement_the_model_no_longer_allows() -> None:
    keeper, workers, ctx = _setup()
    _require(keeper, ctx, measurements=["ab" * 48])  # the model's own list, without ours
    policy = TeeJobPolicy(keeper, workers)
    assert _code(lambda: policy.check_seal(ctx, _job("w1"))) == ("tee", 25)


def test_seal_not_checked_once_the_requirement_is_removed() -> None:
    keeper, workers, ctx = _setup(attested=())
    _require(keeper, ctx)
    policy = TeeJobPolicy(keeper, workers)
    assert _code(lambda: policy.check_seal(ctx, _job("w1", "w2"))) == ("tee", 25)
    keeper.set_requirement(ctx, T.ModelRequirement(model_id="m"))  # no types: removed
    policy.check_seal(ctx, _job("w1", "w2"))
