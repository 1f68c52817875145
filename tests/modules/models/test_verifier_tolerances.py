"""models: a registration may carry calibrated verifier tolerances per precision class (issue 14,
"Catch cheaper compute"); they are validated, stored as given and never change."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from infera.models.v1 import query_pb2, types_pb2
from tests.modules.serving import fails, ok, query, query_error, register_model_msg

MODEL = "/infera.models.v1.Query/Model"


def tolerance(dtype="float32", fingerprint=8000, noise=4000):
    return types_pb2.ClassTolerance(dtype=dtype, fingerprint_ppm=fingerprint, noise_ppm=noise)


def test_calibrated_tolerances_are_stored_per_class(node):
    owner = node.keys[0]
    given = [tolerance(), tolerance("bfloat16", 150_000, 90_000)]
    ok(node, owner, register_model_msg(
        owner, precision_classes=["float32", "bfloat16"], verifier_tolerances=given,
    ))  # fmt: skip
    model = query(
        node, MODEL, query_pb2.QueryModelRequest(id="m"), query_pb2.QueryModelResponse
    ).model
    assert list(model.verifier_tolerances) == given


@pytest.mark.parametrize(
    "tolerances",
    [
        [tolerance("bfloat16")],  # not one of the model's classes ([float32])
        [tolerance("int8")],
        [tolerance(), tolerance()],  # twice for one class
        [tolerance(noise=0)],
        [tolerance(fingerprint=3000, noise=4000)],  # noise above the fingerprint bound
        [tolerance(fingerprint=1_000_001, noise=4000)],
    ],
)
def test_invalid_tolerances_are_refused_with_code_18(node, tolerances):
    owner = node.keys[0]
    fails(node, owner, register_model_msg(owner, verifier_tolerances=tolerances), "models", 18)
    assert query_error(node, MODEL, query_pb2.QueryModelRequest(id="m")) == ("models", 14)
