"""Pure zk rules: the input commitment a job's prompt declares (ASCII-exact)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modules.zk import logic
from modules.zk.encoding import R

HEX = "0b" * 32  # < r


@pytest.mark.parametrize(
    ("prompt", "declared"),
    [
        (b"a plain prompt", None),
        (b"zk1:" + HEX.encode(), int(HEX, 16)),
        (b"zk1:" + HEX.encode() + b":payload 0-9", int(HEX, 16)),
        (b"zk1:" + HEX.upper().encode(), -1),  # lowercase only
        (b"zk1:" + HEX.encode()[:-1], -1),  # 63 digits
        (b"zk1:" + HEX.encode() + b"x", -1),  # no ":" before the payload
        (b"zk1:" + HEX.encode() + b":\n", -1),  # payload is printable ASCII
        (b"zk1:" + R.to_bytes(32, "big").hex().encode(), -1),  # not a scalar < r
        ("zk1:" + "٣" * 64, -1),  # non-ASCII digits
    ],
)
def test_compute_declared_input(prompt, declared):
    raw = prompt if isinstance(prompt, bytes) else prompt.encode()
    assert logic.compute_declared_input(raw) == declared


def test_is_bound_to_job_compares_the_last_public_input():
    prompt = b"zk1:" + (5).to_bytes(32, "big").hex().encode()
    five, six = (5).to_bytes(32, "big"), (6).to_bytes(32, "big")
    assert logic.is_bound_to_job(prompt, six + five)
    assert not logic.is_bound_to_job(prompt, five + six)
    assert not logic.is_bound_to_job(prompt, b"")
    assert logic.is_bound_to_job(b"free input", six)


@given(st.binary(max_size=200), st.binary(max_size=96))
def test_is_bound_to_job_never_raises(prompt, inputs):
    logic.is_bound_to_job(prompt, inputs)


def test_is_valid_weights_and_is_weights_bound():
    from infera.zk.v1 import types_pb2 as Z

    word = (33).to_bytes(32, "big")
    assert logic.is_valid_weights(Z.WEIGHTS_MODE_BAKED, b"", 1)
    assert not logic.is_valid_weights(Z.WEIGHTS_MODE_BAKED, word, 3)
    assert logic.is_valid_weights(Z.WEIGHTS_MODE_PRIVATE, word, 2)
    assert not logic.is_valid_weights(Z.WEIGHTS_MODE_PRIVATE, word, 1)  # no room before the last
    assert not logic.is_valid_weights(Z.WEIGHTS_MODE_PRIVATE, R.to_bytes(32, "big"), 3)
    assert not logic.is_valid_weights(2, word, 3)
    key = Z.VerifyingKey(num_public=3, weights=Z.WEIGHTS_MODE_PRIVATE, weights_commitment=word)
    one, three = (1).to_bytes(32, "big"), (3).to_bytes(32, "big")
    assert logic.is_weights_bound(key, one + word + three)  # [class, weights, input]
    assert not logic.is_weights_bound(key, one + three + word)  # the commitment elsewhere
    assert not logic.is_weights_bound(key, one + word)  # not num_public words
    assert logic.is_weights_bound(Z.VerifyingKey(num_public=3), one + three + three)  # baked


@given(
    st.integers(min_value=0, max_value=2**31 - 1),
    st.binary(max_size=40),
    st.integers(min_value=0, max_value=20),
    st.binary(max_size=200),
)
def test_weights_rules_never_raise(mode, commitment, num_public, inputs):
    from infera.zk.v1 import types_pb2 as Z

    logic.is_valid_weights(mode, commitment, num_public)
    key = Z.VerifyingKey(num_public=num_public, weights=mode, weights_commitment=commitment)
    bound = logic.is_weights_bound(key, inputs)
    if mode == Z.WEIGHTS_MODE_PRIVATE and bound:  # bound only to its own commitment, in place
        assert inputs[32 * (num_public - 2) : 32 * (num_public - 1)] == commitment
        assert len(inputs) == 32 * num_public
