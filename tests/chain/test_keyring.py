"""The test-backend keyring: cosmpy-compatible 24-word keys, stored 0600, never overwritten."""

from __future__ import annotations

import stat

import pytest
from cosmpy.aerial.wallet import LocalWallet

from chain.keyring import KeyNotFoundError, Keyring, KeyringError, is_valid_mnemonic

# BIP39 test vector: 256 zero bits.
ZERO_MNEMONIC = " ".join(["abandon"] * 23 + ["art"])


def test_new_key_has_24_words_and_cosmpy_derives_the_same_address(tmp_path) -> None:
    info = Keyring(tmp_path).add("alice")

    assert len(info.mnemonic.split()) == 24 and is_valid_mnemonic(info.mnemonic)
    assert str(LocalWallet.from_mnemonic(info.mnemonic, prefix="infera").address()) == info.address


def test_recovered_key_matches_cosmpy_and_is_stored_owner_only(tmp_path) -> None:
    keyring = Keyring(tmp_path)
    info = keyring.add("zero", ZERO_MNEMONIC)

    expected = LocalWallet.from_mnemonic(ZERO_MNEMONIC, prefix="infera")
    assert info.address == str(expected.address())
    assert keyring.get("zero").pubkey == expected.public_key().public_key_bytes
    assert stat.S_IMODE((tmp_path / "keyring" / "zero.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keyring").stat().st_mode) == 0o700


def test_list_is_sorted_and_never_shows_mnemonics(tmp_path) -> None:
    keyring = Keyring(tmp_path)
    keyring.add("bob")
    keyring.add("alice")

    assert [k.name for k in keyring.list()] == ["alice", "bob"]
    assert "mnemonic" not in keyring.get("bob").public_view()
    assert keyring.get("bob").mnemonic not in repr(keyring.get("bob"))


def test_add_rejects_duplicate_name_and_duplicate_key(tmp_path) -> None:
    keyring = Keyring(tmp_path)
    keyring.add("zero", ZERO_MNEMONIC)

    with pytest.raises(KeyringError, match="already exists"):
        keyring.add("zero")
    with pytest.raises(KeyringError, match="already stored as 'zero'"):
        keyring.add("again", ZERO_MNEMONIC)


def test_recover_rejects_bad_checksum_unknown_word_and_bad_length(tmp_path) -> None:
    keyring = Keyring(tmp_path)
    bad_checksum = " ".join(["abandon"] * 24)
    unknown_word = " ".join(["abandon"] * 23 + ["notaword"])
    short = " ".join(["abandon"] * 5)

    for mnemonic in (bad_checksum, unknown_word, short):
        with pytest.raises(KeyringError, match="invalid mnemonic"):
            keyring.add("x", mnemonic)
    assert keyring.list() == []


def test_get_unknown_key_and_bad_name_fail_clearly(tmp_path) -> None:
    with pytest.raises(KeyNotFoundError, match="key 'ghost' not found"):
        Keyring(tmp_path).get("ghost")
    with pytest.raises(KeyringError, match="invalid key name"):
        Keyring(tmp_path).add("../escape")
