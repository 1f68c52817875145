"""Cosmos transactions: decoding ``TxRaw`` and the SIGN_MODE_DIRECT sign bytes.

Signatures are always checked against the exact bytes the client signed: the ``body_bytes`` and
``auth_info_bytes`` carried in ``TxRaw``, never a re-serialization.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass

import chain.pb  # noqa: F401

from google.protobuf.message import DecodeError, Message

from chain import crypto
from chain.errors import (
    ChainError,
    ErrInvalidCoins,
    ErrInvalidGasLimit,
    ErrInvalidPubKey,
    ErrNoSignatures,
    ErrNotSupported,
    ErrTooManySignatures,
    ErrTxDecode,
    ErrUnauthorized,
)
from chain.module import MsgRoute, Router
from cosmos.crypto.secp256k1 import keys_pb2 as secp256k1_pb2
from cosmos.tx.signing.v1beta1 import signing_pb2
from cosmos.tx.v1beta1 import tx_pb2

SECP256K1_PUBKEY_URL = "/cosmos.crypto.secp256k1.PubKey"
# ASCII-exact: matched with fullmatch over explicit classes (never isdigit, \d or "$", whose
# answers depend on the Unicode tables of the Python version, or accept a trailing newline).
DENOM_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9/:._-]{2,127}")
AMOUNT_RE = re.compile(r"[0-9]{1,78}")  # decimal digits 0-9 only; 2**256 - 1 has 78 digits
MAX_AMOUNT = 2**256 - 1  # the Cosmos SDK's Int bound
MAX_GAS_LIMIT = 2**63 - 1  # gas travels in int64 fields (ResponseCheckTx, ExecTxResult)
MAX_MESSAGES = 64  # per transaction


@dataclass(frozen=True)
class Coin:
    denom: str
    amount: int


@dataclass(frozen=True)
class SignerInfo:
    pubkey: bytes | None  # compressed secp256k1 key, or None when the account already has one
    sequence: int


@dataclass(frozen=True)
class DecodedTx:
    """A structurally valid transaction: decoded messages, fee, signers and signatures."""

    raw: bytes
    body_bytes: bytes
    auth_info_bytes: bytes
    msgs: tuple[tuple[MsgRoute, Message], ...]
    memo: str
    timeout_height: int
    fee: tuple[Coin, ...]
    gas_limit: int
    signers: tuple[bytes, ...]  # 20-byte addresses, in order of first appearance in messages
    signer_infos: tuple[SignerInfo, ...]
    signatures: tuple[bytes, ...]

    @property
    def hash(self) -> bytes:
        """CometBFT's tx hash: sha256 of the raw bytes."""
        return hashlib.sha256(self.raw).digest()

    def sign_bytes(self, chain_id: str, account_number: int) -> bytes:
        """The SIGN_MODE_DIRECT bytes a signer signs."""
        return tx_pb2.SignDoc(
            body_bytes=self.body_bytes,
            auth_info_bytes=self.auth_info_bytes,
            chain_id=chain_id,
            account_number=account_number,
        ).SerializeToString()


def parse_amount(text: str) -> int:
    """A coin amount: ASCII digits 0-9 only (leading zeros allowed, as in the Cosmos SDK),
    1..2**256-1. Raises ``ErrInvalidCoins`` for anything else ("²", "١", "１", "1\\n", "+1")."""
    if not isinstance(text, str) or not AMOUNT_RE.fullmatch(text):
        raise ErrInvalidCoins(f"invalid amount {text!r}: expected ASCII digits 0-9")
    amount = int(text)
    if amount <= 0 or amount > MAX_AMOUNT:
        raise ErrInvalidCoins(f"amount must be in 1..2^256-1, got {text}")
    return amount


def is_valid_denom(denom: str) -> bool:
    return isinstance(denom, str) and DENOM_RE.fullmatch(denom) is not None


def parse_coins(coins: list) -> tuple[Coin, ...]:
    """Validate protobuf coins: known-shape denoms, positive integer amounts, no duplicates."""
    out: list[Coin] = []
    for coin in coins:
        if not is_valid_denom(coin.denom):
            raise ErrInvalidCoins(f"invalid denom {coin.denom!r}")
        try:
            amount = parse_amount(coin.amount)
        except ChainError as err:
            raise ErrInvalidCoins(f"{err.detail} for {coin.denom}") from None
        out.append(Coin(coin.denom, amount))
    if len({c.denom for c in out}) != len(out):
        raise ErrInvalidCoins("duplicate denom")
    return tuple(out)


def _parse(message: Message, data: bytes, what: str) -> None:
    try:
        message.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ErrTxDecode(f"cannot decode {what}: {exc}") from None


def _decode_msgs(body: tx_pb2.TxBody, router: Router) -> tuple[tuple[MsgRoute, Message], ...]:
    if not body.messages:
        raise ErrTxDecode("transaction has no messages")
    if len(body.messages) > MAX_MESSAGES:
        raise ErrTxDecode(f"transaction has {len(body.messages)} messages, limit {MAX_MESSAGES}")
    out = []
    for any_msg in body.messages:
        route = router.msg_route(any_msg.type_url)
        msg = route.msg_class()
        _parse(msg, any_msg.value, any_msg.type_url)
        out.append((route, msg))
    return tuple(out)


def _signers(msgs: tuple[tuple[MsgRoute, Message], ...]) -> tuple[bytes, ...]:
    signers: list[bytes] = []
    for route, msg in msgs:
        for field in route.signer_fields:
            address = crypto.from_bech32(getattr(msg, field))
            if address not in signers:
                signers.append(address)
    return tuple(signers)


def _signer_infos(auth_info: tx_pb2.AuthInfo, simulating: bool) -> tuple[SignerInfo, ...]:
    # Simulation verifies no signature, so it takes the unspecified mode cosmjs sends there.
    modes = {signing_pb2.SIGN_MODE_DIRECT}
    if simulating:
        modes.add(signing_pb2.SIGN_MODE_UNSPECIFIED)
    infos = []
    for info in auth_info.signer_infos:
        if info.mode_info.single.mode not in modes:
            raise ErrNotSupported("only SIGN_MODE_DIRECT single signatures are supported")
        pubkey = None
        if info.HasField("public_key"):
            if info.public_key.type_url != SECP256K1_PUBKEY_URL:
                raise ErrInvalidPubKey(f"unsupported public key type {info.public_key.type_url!r}")
            key = secp256k1_pb2.PubKey()
            _parse(key, info.public_key.value, "public key")
            pubkey = key.key
            crypto.address_from_secp256k1(pubkey)  # validates length and format
        infos.append(SignerInfo(pubkey=pubkey, sequence=info.sequence))
    return tuple(infos)


def decode_tx(
    raw: bytes, router: Router, *, max_signatures: int = 7, allow_zero_gas: bool = False
) -> DecodedTx:
    """Decode and structurally validate a ``TxRaw`` (Cosmos ``ValidateBasic``); no state read.

    ``allow_zero_gas`` is for simulation, where clients send a gas limit of 0 and (cosmjs) leave
    the sign mode unspecified with an empty signature: simulation verifies no signature.
    """
    tx_raw, body, auth_info = tx_pb2.TxRaw(), tx_pb2.TxBody(), tx_pb2.AuthInfo()
    _parse(tx_raw, raw, "TxRaw")
    _parse(body, tx_raw.body_bytes, "TxBody")
    _parse(auth_info, tx_raw.auth_info_bytes, "AuthInfo")
    msgs = _decode_msgs(body, router)
    signers = _signers(msgs)
    infos = _signer_infos(auth_info, simulating=allow_zero_gas)
    signatures = tuple(tx_raw.signatures)
    if not signatures:
        raise ErrNoSignatures("transaction carries no signatures")
    if len(signatures) > max_signatures:
        raise ErrTooManySignatures(f"{len(signatures)} signatures, limit {max_signatures}")
    if not len(signatures) == len(infos) == len(signers):
        raise ErrUnauthorized(
            f"wrong number of signers; expected {len(signers)}, got {len(infos)} signer infos "
            f"and {len(signatures)} signatures"
        )
    gas_limit = auth_info.fee.gas_limit
    if gas_limit <= 0 and not allow_zero_gas:
        raise ErrInvalidGasLimit("gas limit must be positive")
    if gas_limit > MAX_GAS_LIMIT:
        raise ErrInvalidGasLimit(f"gas limit {gas_limit} exceeds the maximum {MAX_GAS_LIMIT}")
    return DecodedTx(
        raw=raw,
        body_bytes=tx_raw.body_bytes,
        auth_info_bytes=tx_raw.auth_info_bytes,
        msgs=msgs,
        memo=body.memo,
        timeout_height=body.timeout_height,
        fee=parse_coins(list(auth_info.fee.amount)),
        gas_limit=gas_limit,
        signers=signers,
        signer_infos=infos,
        signatures=signatures,
    )


class TxDecoder:
    """``decode_tx`` with a cache of the txs this node admitted to its mempool.

    A tx is decoded for CheckTx, recheck, the proposal checks and FinalizeBlock: up to five
    times for the same bytes. Decoding is a pure function of the bytes, so a hit returns exactly
    what decoding would. Only txs that passed CheckTx enter the cache (``remember``): garbage,
    txs with a bad signature and Simulate requests cost an outsider nothing, so they must not
    cost this node memory either. The cache is an LRU bounded both by entries and by an
    estimate of the bytes held (a decoded tx keeps its raw bytes, body, auth info and messages:
    about ``ENTRY_BYTES_FACTOR`` times the raw size). Handlers must treat decoded messages as
    read-only, as they are shared between those calls.
    """

    ENTRY_BYTES_FACTOR = 3  # decoded tx ~ raw + body + auth info + parsed messages
    ENTRY_OVERHEAD_BYTES = 1024  # Python objects around one entry

    def __init__(
        self, router: Router, capacity: int = 50_000, capacity_bytes: int = 128 << 20
    ) -> None:
        self.router = router
        self.capacity = capacity  # entries
        self.capacity_bytes = capacity_bytes  # estimated bytes held by all entries
        self.held_bytes = 0
        self._cache: OrderedDict[bytes, DecodedTx] = OrderedDict()

    def __len__(self) -> int:
        return len(self._cache)

    def decode(self, raw: bytes, *, allow_zero_gas: bool = False) -> DecodedTx:
        """The decoded tx; a cached one when this node admitted it (cached txs have a positive
        gas limit, so a hit is valid whatever ``allow_zero_gas`` says). Never adds to the cache."""
        found = self._cache.get(raw)
        if found is not None:
            self._cache.move_to_end(raw)
            return found
        return decode_tx(raw, self.router, allow_zero_gas=allow_zero_gas)

    def remember(self, tx: DecodedTx) -> None:
        """Keep ``tx`` (admitted to the mempool) for the proposal checks and FinalizeBlock."""
        cost = self._cost(tx.raw)
        if tx.gas_limit <= 0 or cost > self.capacity_bytes or tx.raw in self._cache:
            return
        self._cache[tx.raw] = tx
        self.held_bytes += cost
        while len(self._cache) > self.capacity or self.held_bytes > self.capacity_bytes:
            evicted, _ = self._cache.popitem(last=False)
            self.held_bytes -= self._cost(evicted)

    def forget(self, raw: bytes) -> None:
        """Drop ``raw`` (executed in a block, or no longer valid at recheck)."""
        if self._cache.pop(raw, None) is not None:
            self.held_bytes -= self._cost(raw)

    def _cost(self, raw: bytes) -> int:
        return self.ENTRY_BYTES_FACTOR * len(raw) + self.ENTRY_OVERHEAD_BYTES
