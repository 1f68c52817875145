"""Issue 14, "Catch cheaper compute", on the real chain (bench/bench_onchain_adversaries.py's
own rows, 3 jobs each, the guilty hop moving over hops 0, 1, 2 or the last hop):

* a model that registers its calibrated fp32 tolerance gets int8 weights on any one hop caught,
  only the guilty hop slashed (the class defaults caught 40 % in the bench);
* a steering last hop (runner-up token when the gap is < 0.6 logits) is blamed alone: its two
  honest route mates keep their reputation (before: both lost it in every job), the steerer
  loses reputation and its route's pay, and is not slashed (honest near-ties are not told apart)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")  # validators install no torch: these need the worker extra

from tests.modules.agreement.test_onchain_issue14 import _run  # noqa: E402


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from bench.onchain_jobs import tiny_model_dirs

    return tiny_model_dirs(tmp_path_factory.mktemp("onchain-calibrated-models"))


def test_int8_weights_on_one_hop_are_caught_under_the_model_tolerance(tmp_path, models):
    outcomes = _run(tmp_path, models, "int8 weights, calibrated model tolerance")
    for o, charged in outcomes:  # disputed when a token moved, else audited for divergence
        assert (o.disputed or o.diverged) and o.slashed_positions == o.guilty_positions
        assert o.state == "JOB_STATE_FINALIZED" and o.honest_output_delivered
        assert o.honest_routes_paid and charged > 0


def test_a_steering_last_hop_is_blamed_alone_and_its_honest_mates_keep_reputation(tmp_path, models):
    outcomes = _run(tmp_path, models, "steer (last hop, gap < 0.6), greedy")
    for o, _ in outcomes:
        assert o.disputed and o.outputs_differ and o.honest_output_delivered
        assert not o.slashed  # reputation only
        assert o.honest_reputation_dropped == [], (o.job_id, o.guilty_positions)
        (steerer,) = o.guilty
        assert steerer in o.reputation_dropped and o.paid.get(steerer, 0) <= 0


def test_the_divergence_bound_is_the_models_registered_noise_where_tighter():
    """settlement._calibrated_noise: the job's model's noise_ppm for the job's class (the
    divergence rule takes it where it is below the agreement param), None without one."""
    from types import SimpleNamespace

    from chain.fixed import Decimal
    from infera.inference.v1 import types_pb2 as inference_types
    from infera.models.v1 import types_pb2 as models_types
    from modules.agreement import settlement

    model = models_types.Model(id="m", verifier_tolerances=[
        models_types.ClassTolerance(dtype="float32", fingerprint_ppm=10208, noise_ppm=5104)])  # fmt: skip
    registry = SimpleNamespace(get_model=lambda _ctx, model_id: model if model_id == "m" else None)
    keeper = SimpleNamespace(models=registry)
    job = inference_types.Job(model_id="m", precision="float32")
    assert settlement._calibrated_noise(None, keeper, job) == Decimal.ratio(5104, 1_000_000)
    assert settlement._calibrated_noise(None, keeper, inference_types.Job(
        model_id="m", precision="bfloat16")) is None  # fmt: skip
    assert settlement._calibrated_noise(None, keeper, inference_types.Job(model_id="x")) is None
    assert settlement._calibrated_noise(None, SimpleNamespace(models=None), job) is None
