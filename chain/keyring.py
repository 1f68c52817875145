"""A local keyring of account keys: the "test" backend (UNENCRYPTED).

Layout: ``HOME/keyring/<name>.json`` (directory mode 0700, files mode 0600), one JSON object per
key::

    {"name": "alice", "type": "local", "algo": "secp256k1", "hd_path": "m/44'/118'/0'/0/0",
     "address": "infera1...", "pubkey": "<base64 of the 33-byte compressed key>",
     "mnemonic": "<24 BIP39 words>"}

The mnemonic is stored in clear text, like the Cosmos SDK's ``--keyring-backend test``: it suits
local networks, tests and development, never keys that guard real value. Only the file mode
protects it.

Keys are 24-word BIP39 mnemonics derived on the Cosmos path ``m/44'/118'/0'/0/0`` with cosmpy's
own code, so ``LocalWallet.from_mnemonic(mnemonic, prefix="infera")`` gives the same account.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from cosmpy.aerial.wallet import LocalWallet
from cosmpy.mnemonic import (
    COSMOS_HD_PATH,
    derive_child_key_from_mnemonic,
    generate_mnemonic,
    validate_mnemonic_and_normalise,
)
from cosmpy.mnemonic.words import ENGLISH_MNEMONIC_WORDS_LIST

from chain import crypto

KEYRING_DIR = "keyring"
BACKEND = "test"
MNEMONIC_WORDS = 24
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # fullmatch: ASCII only


class KeyringError(Exception):
    """A keyring operation failed (unknown key, duplicate name, bad mnemonic...)."""


class KeyNotFoundError(KeyringError, LookupError):
    """No key of that name in the keyring."""


@dataclass(frozen=True)
class KeyInfo:
    """One stored key."""

    name: str
    address: str  # bech32, prefix "infera"
    pubkey: bytes  # 33-byte compressed secp256k1 public key
    mnemonic: str = field(repr=False)  # 24 BIP39 words (stored in clear: test backend)

    def wallet(self) -> LocalWallet:
        """The cosmpy wallet (private key derived from the mnemonic) that signs for this key."""
        return wallet_from_mnemonic(self.mnemonic)

    def private_key(self) -> bytes:
        """The raw 32-byte secp256k1 private key."""
        return derive_child_key_from_mnemonic(self.mnemonic, path=COSMOS_HD_PATH)

    def public_view(self) -> dict[str, str]:
        """What ``keys list``/``keys show`` print: never the mnemonic."""
        return {
            "name": self.name,
            "type": "local",
            "address": self.address,
            "pubkey": base64.b64encode(self.pubkey).decode(),
        }


def new_mnemonic() -> str:
    """A fresh 24-word BIP39 mnemonic (256 bits of OS entropy)."""
    return str(generate_mnemonic(num_bits=256))


def is_valid_mnemonic(mnemonic: str) -> bool:
    """Known words, a BIP39 length and a correct checksum (cosmpy checks only the words)."""
    try:
        words = validate_mnemonic_and_normalise(mnemonic).split()
    except ValueError:
        return False
    index = {word: i for i, word in enumerate(ENGLISH_MNEMONIC_WORDS_LIST)}
    bits = "".join(format(index[w], "011b") for w in words)
    checksum_bits = len(bits) // 33
    entropy_bits = bits[: len(bits) - checksum_bits]
    entropy = int(entropy_bits, 2).to_bytes(len(entropy_bits) // 8, "big")
    digest = format(hashlib.sha256(entropy).digest()[0], "08b")
    return bits[len(entropy_bits) :] == digest[:checksum_bits]


def wallet_from_mnemonic(mnemonic: str) -> LocalWallet:
    """The cosmpy wallet for ``mnemonic`` with the ``infera`` address prefix."""
    return LocalWallet.from_mnemonic(mnemonic, prefix=crypto.ACCOUNT_PREFIX)


def key_from_mnemonic(name: str, mnemonic: str) -> KeyInfo:
    """Derive a ``KeyInfo`` (address, public key) from a mnemonic; checks the checksum."""
    if not is_valid_mnemonic(mnemonic):
        raise KeyringError("invalid mnemonic: unknown word, wrong length or bad checksum")
    normalised = validate_mnemonic_and_normalise(mnemonic)
    wallet = wallet_from_mnemonic(normalised)
    pubkey = wallet.public_key().public_key_bytes
    return KeyInfo(
        name=name,
        address=crypto.to_bech32(crypto.address_from_secp256k1(pubkey)),
        pubkey=pubkey,
        mnemonic=normalised,
    )


class Keyring:
    """The keys under ``HOME/keyring`` (test backend: unencrypted JSON, mode 0600)."""

    def __init__(self, home: str | Path) -> None:
        self.dir = Path(home) / KEYRING_DIR

    def _path(self, name: str) -> Path:
        if not NAME_RE.fullmatch(name):
            raise KeyringError(
                f"invalid key name {name!r}: use 1-64 letters, digits, '_', '.' or '-'"
            )
        return self.dir / f"{name}.json"

    def add(self, name: str, mnemonic: str | None = None) -> KeyInfo:
        """Create a key (new mnemonic, or ``mnemonic`` to recover one); refuses duplicates."""
        if self._path(name).exists():
            raise KeyringError(f"key {name!r} already exists in {self.dir}")
        info = key_from_mnemonic(name, mnemonic if mnemonic is not None else new_mnemonic())
        return self.store(info)

    def store(self, info: KeyInfo) -> KeyInfo:
        """Save an already derived key (``key_from_mnemonic``); refuses duplicates."""
        path = self._path(info.name)
        if path.exists():
            raise KeyringError(f"key {info.name!r} already exists in {self.dir}")
        for other in self.list():
            if other.address == info.address:
                raise KeyringError(f"this key is already stored as {other.name!r}")
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        record = {
            "name": info.name,
            "type": "local",
            "algo": "secp256k1",
            "hd_path": COSMOS_HD_PATH,
            "address": info.address,
            "pubkey": base64.b64encode(info.pubkey).decode(),
            "mnemonic": info.mnemonic,
        }
        # O_EXCL: never overwrite; 0600 from the first byte (the file holds a secret).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(record, out, indent=2)
            out.write("\n")
        return info

    def get(self, name: str) -> KeyInfo:
        """The key called ``name``; raises ``KeyNotFoundError``."""
        path = self._path(name)
        if not path.is_file():
            raise KeyNotFoundError(f"key {name!r} not found in {self.dir}")
        return self._load(path)

    def list(self) -> list[KeyInfo]:
        """Every key, sorted by name."""
        if not self.dir.is_dir():
            return []
        return [self._load(p) for p in sorted(self.dir.glob("*.json"))]

    def find_by_address(self, address: str) -> KeyInfo | None:
        return next((k for k in self.list() if k.address == address), None)

    def _load(self, path: Path) -> KeyInfo:
        try:
            record = json.loads(path.read_text())
            return KeyInfo(
                name=record["name"],
                address=record["address"],
                pubkey=base64.b64decode(record["pubkey"]),
                mnemonic=record["mnemonic"],
            )
        except (OSError, ValueError, KeyError) as exc:
            raise KeyringError(f"cannot read key file {path}: {exc}") from None
