"""Existence and absence proofs: they verify, survive encoding, and fail when tampered with."""

from __future__ import annotations

from dataclasses import replace
from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.store import CommitStore, Proof, ProofError, decode_proof, encode_proof, verify_proof
from tests.chain.store.reference import ZERO, reference_root
from tests.chain.store.test_tree import deep_prefix_keys

STATE = {b"bank/bal/%03d" % i: b"%d" % (i * 7) for i in range(200)}


@pytest.fixture
def store(tmp_path):
    with CommitStore(str(tmp_path / "db")) as s:
        s.stage(1, STATE)
        s.commit()
        yield s


def flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:]


def test_existence_proof_verifies_and_round_trips(store: CommitStore) -> None:
    root = store.last_app_hash
    for key, value in STATE.items():
        got, proof = store.prove(key, 1)
        assert got == value
        assert proof.other_key_hash is None
        assert verify_proof(root, key, value, decode_proof(encode_proof(proof)))


def test_absence_proofs_verify_for_absent_keys(store: CommitStore) -> None:
    root = store.last_app_hash
    kinds = set()
    for i in range(300):
        key = b"absent/%d" % i
        value, proof = store.prove(key, 1)
        assert value is None
        kinds.add(proof.other_key_hash is not None)
        assert verify_proof(root, key, None, decode_proof(encode_proof(proof)))
    assert kinds == {True, False}  # both kinds: ending at another leaf, and at an empty slot


def test_existence_proof_fails_for_a_tampered_value_key_or_root(store: CommitStore) -> None:
    key = b"bank/bal/007"
    value, proof = store.prove(key, 1)
    assert value is not None
    root = store.last_app_hash
    assert verify_proof(root, key, value, proof)
    assert not verify_proof(root, key, value + b"0", proof)
    assert not verify_proof(root, b"bank/bal/008", value, proof)
    assert not verify_proof(flip(root), key, value, proof)
    assert not verify_proof(root, key, None, proof)  # an existence proof is no absence proof


def test_existence_proof_fails_for_any_tampered_sibling(store: CommitStore) -> None:
    key = b"bank/bal/100"
    value, proof = store.prove(key, 1)
    for i in range(len(proof.siblings)):
        siblings = list(proof.siblings)
        siblings[i] = flip(siblings[i])
        assert not verify_proof(store.last_app_hash, key, value, Proof(tuple(siblings)))
    assert not verify_proof(store.last_app_hash, key, value, Proof(proof.siblings[1:]))
    assert not verify_proof(store.last_app_hash, key, value, Proof((*proof.siblings, ZERO)))


def test_absence_proof_fails_for_a_present_key_or_tampered_leaf(store: CommitStore) -> None:
    root = store.last_app_hash
    absent = next(
        k for k in (b"x%d" % i for i in range(999)) if store.prove(k, 1)[1].other_key_hash
    )
    _, proof = store.prove(absent, 1)
    assert verify_proof(root, absent, None, proof)
    assert proof.other_key_hash is not None and proof.other_value_hash is not None
    assert not verify_proof(root, absent, b"", proof)
    assert not verify_proof(
        root, absent, None, replace(proof, other_value_hash=flip(proof.other_value_hash))
    )
    assert not verify_proof(
        root, absent, None, replace(proof, other_key_hash=flip(proof.other_key_hash))
    )
    assert not verify_proof(root, absent, None, Proof(proof.siblings))  # not an empty slot
    # The other leaf's own key is present: the same proof must not show it absent.
    present = next(k for k in STATE if sha256(k).digest() == proof.other_key_hash)
    assert not verify_proof(root, present, None, proof)


def test_absence_cannot_be_proved_with_a_leaf_off_the_path(store: CommitStore) -> None:
    root = store.last_app_hash
    absent = b"nobody"
    _, proof = store.prove(absent, 1)
    other = sha256(b"bank/bal/001").digest()
    forged = Proof(proof.siblings, other, sha256(STATE[b"bank/bal/001"]).digest())
    assert not verify_proof(root, absent, None, forged)


def test_proofs_of_an_empty_and_a_one_key_tree(tmp_path) -> None:
    with CommitStore(str(tmp_path / "db")) as s:
        s.stage(1, {})
        s.commit()
        value, proof = s.prove(b"k", 1)
        assert value is None and proof == Proof(())
        assert verify_proof(ZERO, b"k", None, proof)
        s.stage(2, {b"k": b"v"})
        s.commit()
        assert s.prove(b"k", 2) == (b"v", Proof(()))
        assert verify_proof(s.root_at(2), b"k", b"v", Proof(()))
        _, other = s.prove(b"j", 2)
        assert other.other_key_hash == sha256(b"k").digest()
        assert verify_proof(s.root_at(2), b"j", None, other)


def test_proofs_through_long_shared_prefixes(tmp_path) -> None:
    keys = deep_prefix_keys(3, 12)
    with CommitStore(str(tmp_path / "db")) as s:
        s.stage(1, {keys[0]: b"a", keys[1]: b"b", b"x": b"y"})
        s.commit()
        assert s.last_app_hash == reference_root({keys[0]: b"a", keys[1]: b"b", b"x": b"y"})
        value, proof = s.prove(keys[0], 1)
        assert value == b"a" and len(proof.siblings) >= 12
        assert verify_proof(s.last_app_hash, keys[0], b"a", decode_proof(encode_proof(proof)))
        value, proof = s.prove(keys[2], 1)  # absent, shares 12+ bits with the other two
        assert value is None
        assert verify_proof(s.last_app_hash, keys[2], None, decode_proof(encode_proof(proof)))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x02\x00\x00\x00",  # unknown format version
        b"\x01\x02\x00\x00",  # unknown kind
        b"\x01\x00\x01\x01" + b"\x00" * 40,  # depth 257
        b"\x01\x00\x00\x08\x80",  # sibling flagged but missing
        b"\x01\x00\x00\x03\x10" + b"\x11" * 32,  # padding bit set
        b"\x01\x00\x00\x01\x80" + b"\x00" * 32,  # an all-zero sibling flagged present
        b"\x01\x00\x00\x00" + b"\x00",  # trailing byte
        b"\x01\x01\x00\x00" + b"\x00" * 63,  # other leaf truncated
    ],
)
def test_decode_rejects_malformed_proofs(raw: bytes) -> None:
    with pytest.raises(ProofError):
        decode_proof(raw)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200))
def test_decode_never_fails_other_than_with_proof_error(raw: bytes) -> None:
    try:
        proof = decode_proof(raw)
    except ProofError:
        return
    assert encode_proof(proof) == raw  # what decodes is canonical


@settings(max_examples=200, deadline=None)
@given(
    siblings=st.lists(st.one_of(st.just(ZERO), st.binary(min_size=32, max_size=32)), max_size=20),
    leaf=st.one_of(st.none(), st.tuples(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))),
)  # fmt: skip
def test_encoding_round_trips(siblings: list, leaf: tuple | None) -> None:
    proof = Proof(tuple(siblings), *(leaf or (None, None)))
    assert decode_proof(encode_proof(proof)) == proof


@pytest.mark.parametrize(
    "proof",
    [
        Proof(("not bytes",)),  # type: ignore[arg-type]
        Proof((b"short",)),
        Proof((ZERO,) * 257),
        Proof((), b"\x01" * 32, None),
        Proof((), b"\x01" * 31, b"\x02" * 32),
        Proof(None),  # type: ignore[arg-type]
    ],
)
def test_verify_returns_false_on_hostile_proof_objects(proof: Proof) -> None:
    assert verify_proof(ZERO, b"k", None, proof) is False
    assert verify_proof(ZERO, b"k", b"v", proof) is False
