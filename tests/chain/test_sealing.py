"""chain/sealing.py: boxes open only with the right key at the right place, tampering is caught,
and random bytes never raise anything but SealingError (hypothesis fuzz)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain import sealing

PLACE = sealing.Place("infera-test-1", 7, 1, 0, sealing.PURPOSE_PROMPT)


@pytest.fixture(scope="module")
def recipient():
    private = sealing.generate_private_key()
    return private, sealing.public_key(private)


def test_round_trip(recipient):
    private, public = recipient
    box = sealing.seal(public, b"secret prompt", PLACE)
    assert len(box) == sealing.BOX_OVERHEAD + len(b"secret prompt")
    assert sealing.open_box(private, box, PLACE) == b"secret prompt"


def test_two_seals_of_one_plaintext_differ(recipient):
    _, public = recipient
    assert sealing.seal(public, b"x", PLACE) != sealing.seal(public, b"x", PLACE)


def test_the_box_does_not_contain_the_plaintext(recipient):
    _, public = recipient
    assert b"secret prompt" not in sealing.seal(public, b"secret prompt", PLACE)


@pytest.mark.parametrize("position", [0, 31, 32, 40, -1])
def test_tampered_box_does_not_open(recipient, position):
    private, public = recipient
    box = bytearray(sealing.seal(public, b"secret prompt", PLACE))
    box[position] ^= 0x01
    with pytest.raises(sealing.SealingError):
        sealing.open_box(private, bytes(box), PLACE)


def test_truncated_box_does_not_open(recipient):
    private, public = recipient
    box = sealing.seal(public, b"secret prompt", PLACE)
    with pytest.raises(sealing.SealingError):
        sealing.open_box(private, box[:-1], PLACE)


@pytest.mark.parametrize(
    "elsewhere",
    [
        sealing.Place("infera-test-2", 7, 1, 0, sealing.PURPOSE_PROMPT),  # another chain
        sealing.Place("infera-test-1", 8, 1, 0, sealing.PURPOSE_PROMPT),  # another job
        sealing.Place("infera-test-1", 7, 2, 0, sealing.PURPOSE_PROMPT),  # another route
        sealing.Place("infera-test-1", 7, 1, 1, sealing.PURPOSE_PROMPT),  # another hop
        sealing.Place("infera-test-1", 7, 1, 0, sealing.PURPOSE_OUTPUT),  # another purpose
    ],
)
def test_box_moved_to_another_place_does_not_open(recipient, elsewhere):
    private, public = recipient
    box = sealing.seal(public, b"secret prompt", PLACE)
    with pytest.raises(sealing.SealingError):
        sealing.open_box(private, box, elsewhere)


def test_wrong_key_does_not_open(recipient):
    _, public = recipient
    box = sealing.seal(public, b"secret prompt", PLACE)
    with pytest.raises(sealing.SealingError):
        sealing.open_box(sealing.generate_private_key(), box, PLACE)


def test_bad_places_and_keys_are_sealing_errors(recipient):
    private, public = recipient
    for place in (
        sealing.Place("", 1, 0, 0, sealing.PURPOSE_KEY),
        sealing.Place("x" * 65, 1, 0, 0, sealing.PURPOSE_KEY),
        sealing.Place("c", -1, 0, 0, sealing.PURPOSE_KEY),
        sealing.Place("c", 1, 1 << 32, 0, sealing.PURPOSE_KEY),
        sealing.Place("c", 1, 0, 0, "nonsense"),
    ):
        with pytest.raises(sealing.SealingError):
            sealing.seal(public, b"x", place)
    with pytest.raises(sealing.SealingError):
        sealing.seal(public[:31], b"x", PLACE)
    with pytest.raises(sealing.SealingError):
        sealing.open_box(private[:31], b"\x00" * 64, PLACE)


def test_payloads_round_trip():
    key = os.urandom(32)
    payload = sealing.encode_prompt_payload(key, b"hi", 10)
    assert len(payload) == sealing.PROMPT_HEADER.size + 10
    assert sealing.decode_prompt_payload(payload) == (key, b"hi")
    assert sealing.decode_key_payload(sealing.encode_key_payload(key)) == key
    assert sealing.decode_output_payload(sealing.encode_output_payload([0, 5, 2**32 - 1])) == (
        0,
        5,
        2**32 - 1,
    )
    assert sealing.prompt_box_bytes(10) == sealing.BOX_OVERHEAD + len(payload)
    assert sealing.output_box_bytes(3) == sealing.BOX_OVERHEAD + 13
    with pytest.raises(sealing.SealingError):
        sealing.encode_prompt_payload(key, b"too long", 3)
    with pytest.raises(sealing.SealingError):
        sealing.decode_prompt_payload(payload[:-1] + b"\x01")  # non-zero padding


def test_job_secrets_are_derived_apart_and_stable():
    job_key = os.urandom(32)
    a, b = sealing.JobSecrets(job_key), sealing.JobSecrets(job_key)
    assert a.output_key == b.output_key and a.reply_pubkey == b.reply_pubkey
    assert len({a.output_key, a.reply_private, a.prompt_commitment(b"p"), job_key}) == 4
    assert a.prompt_commitment(b"p") != a.prompt_commitment(b"q")
    assert sealing.JobSecrets(os.urandom(32)).prompt_commitment(b"p") != a.prompt_commitment(b"p")
    with pytest.raises(sealing.SealingError):
        sealing.JobSecrets(b"short")


def test_keyed_output_hash_depends_on_key_tokens_and_count():
    key = os.urandom(32)
    keyed = sealing.compute_keyed_output_hash(key, [1, 2, 3])
    assert keyed != sealing.compute_keyed_output_hash(os.urandom(32), [1, 2, 3])
    assert keyed != sealing.compute_keyed_output_hash(key, [1, 2, 4])
    assert sealing.compute_sealed_output_hash(keyed, 3) != sealing.compute_sealed_output_hash(
        keyed, 4
    )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_sealing_error(recipient, data):
    private, _ = recipient
    for call in (
        lambda: sealing.open_box(private, data, PLACE),
        lambda: sealing.decode_prompt_payload(data),
        lambda: sealing.decode_key_payload(data),
        lambda: sealing.decode_output_payload(data),
    ):
        try:
            call()
        except sealing.SealingError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=200))
def test_random_keys_and_boxes_never_raise_anything_but_sealing_error(key, box):
    try:
        sealing.open_box(key, box, PLACE)
    except sealing.SealingError:
        pass


def test_hop_boxes_are_rebuildable_from_the_job_key_and_nothing_else(recipient):
    private, public = recipient
    secrets = sealing.JobSecrets(os.urandom(32))
    box = sealing.seal_for_hop(secrets, public, b"payload", PLACE)
    assert sealing.open_box(private, box, PLACE) == b"payload"
    assert sealing.seal_for_hop(secrets, public, b"payload", PLACE) == box  # deterministic
    assert sealing.is_rebuilt_box(secrets, public, b"payload", PLACE, box)
    other_place = sealing.Place("infera-test-1", 7, 1, 1, sealing.PURPOSE_PROMPT)
    for wrong in (
        (sealing.JobSecrets(os.urandom(32)), public, b"payload", PLACE),
        (secrets, sealing.public_key(sealing.generate_private_key()), b"payload", PLACE),
        (secrets, public, b"other", PLACE),
        (secrets, public, b"payload", other_place),
    ):
        assert not sealing.is_rebuilt_box(*wrong, box)
    garbage = os.urandom(len(box))
    assert not sealing.is_rebuilt_box(secrets, public, b"payload", PLACE, garbage)
    assert not sealing.is_rebuilt_box(secrets, b"\x00" * 32, b"payload", PLACE, box)  # low order


def test_a_low_order_recipient_key_is_refused():
    with pytest.raises(sealing.SealingError):
        sealing.seal(b"\x00" * 32, b"x", PLACE)
