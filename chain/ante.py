"""The ante handler: the checks every transaction passes before its messages run.

Order (Cosmos SDK's): limits on memo and timeout, fee against the minimum gas price, gas for the
tx size, then per signer: account exists, public key set or matching, sequence, signature (gas
charged per check); then sequences are incremented and the fee is deducted from the first signer.
Everything here writes to a branch that the caller discards if any check fails.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chain import crypto
from chain.context import Context, ExecMode
from chain.errors import (
    ChainError,
    ErrInsufficientFee,
    ErrInvalidPubKey,
    ErrMemoTooLarge,
    ErrUnauthorized,
    ErrUnknownAddress,
    ErrWrongSequence,
    register,
)
from chain.fixed import Decimal
from chain.tx import Coin, DecodedTx

ErrTxTimeoutHeight = register("sdk", 30, "tx timeout height")

FEE_COLLECTOR = "fee_collector"


class AnteParams(Protocol):
    """The consensus parameters the ante handler reads (auth module params)."""

    max_memo_characters: int
    tx_size_cost_per_byte: int  # gas per byte of raw tx
    sig_verify_cost_secp256k1: int  # gas per signature
    min_gas_price: str  # decimal, in fee_denom per unit of gas, e.g. "0.025"
    fee_denom: str


class Account(Protocol):
    account_number: int
    sequence: int


class AccountKeeper(Protocol):
    def get_params(self, ctx: Context) -> AnteParams: ...

    def get_account(self, ctx: Context, address: bytes) -> Any | None: ...

    def get_pubkey(self, account: Any) -> bytes | None: ...

    def set_pubkey(self, account: Any, pubkey: bytes) -> None: ...

    def set_account(self, ctx: Context, account: Any) -> None: ...


class BankKeeper(Protocol):
    def send_coins_to_module(
        self, ctx: Context, sender: bytes, module: str, coins: Sequence[Coin]
    ) -> None: ...


class SignatureCache:
    """Remembers signatures already verified (in CheckTx) so FinalizeBlock skips the curve math.

    A hit returns exactly what verification would return, so results stay deterministic; gas is
    charged the same either way.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def verify(self, pubkey: bytes, message: bytes, signature: bytes) -> bool:
        key = cache_key(pubkey, message, signature)
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        if not crypto.verify_secp256k1(pubkey, message, signature):
            return False
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True


def cache_key(pubkey: bytes, message: bytes, signature: bytes) -> bytes:
    """sha256 over length-framed parts: without the lengths, (key, sig, msg) and (key, sig[:63],
    sig[63:] + msg) would share one entry, and a hit would skip the check of the second."""
    framed = b"".join(len(part).to_bytes(8, "big") + part for part in (pubkey, signature, message))
    return hashlib.sha256(framed).digest()


@dataclass
class AnteHandler:
    accounts: AccountKeeper
    bank: BankKeeper
    signatures: SignatureCache

    def run(self, ctx: Context, tx: DecodedTx) -> None:
        """Run every check in order; raises a ``ChainError`` on the first failure."""
        params = self.accounts.get_params(ctx)
        simulate = ctx.mode == ExecMode.SIMULATE
        check_limits(ctx, tx, params)
        if not simulate:
            check_fee(tx, params)
        ctx.gas.consume(params.tx_size_cost_per_byte * len(tx.raw), "txSize")
        for index, signer in enumerate(tx.signers):
            self._check_signer(ctx, tx, index, signer, params, verify=not simulate)
        if tx.fee:
            self.bank.send_coins_to_module(ctx, tx.signers[0], FEE_COLLECTOR, tx.fee)
        elif simulate:
            self._charge_nominal_fee(ctx, tx.signers[0], params)

    def _charge_nominal_fee(self, ctx: Context, payer: bytes, params: AnteParams) -> None:
        """Clients simulate with an empty fee and then pay one: charge the gas of a fee
        transfer (about 17k of a 40k send) on a branch that is thrown away, so estimates hold."""
        branch, _ = ctx.branch()
        try:
            self.bank.send_coins_to_module(
                branch, payer, FEE_COLLECTOR, [Coin(params.fee_denom, 1)]
            )
        except ChainError:
            pass  # an empty balance fails the real tx later, with its own clear error

    def _check_signer(
        self,
        ctx: Context,
        tx: DecodedTx,
        index: int,
        signer: bytes,
        params: AnteParams,
        *,
        verify: bool,
    ) -> None:
        info, signature = tx.signer_infos[index], tx.signatures[index]
        account = self.accounts.get_account(ctx, signer)
        if account is None:
            raise ErrUnknownAddress(f"account {crypto.to_bech32(signer)} does not exist")
        pubkey = resolve_pubkey(self.accounts.get_pubkey(account), info.pubkey, signer)
        if info.sequence != account.sequence:
            raise ErrWrongSequence(
                f"account sequence mismatch, expected {account.sequence}, got {info.sequence}"
            )
        ctx.gas.consume(params.sig_verify_cost_secp256k1, "ante verify: secp256k1")
        sign_bytes = tx.sign_bytes(ctx.block.chain_id, account.account_number)
        if verify and not self.signatures.verify(pubkey, sign_bytes, signature):
            raise ErrUnauthorized(
                "signature verification failed; please verify account number "
                f"({account.account_number}) and chain-id ({ctx.block.chain_id})"
            )
        self.accounts.set_pubkey(account, pubkey)
        account.sequence += 1
        self.accounts.set_account(ctx, account)


def check_limits(ctx: Context, tx: DecodedTx, params: AnteParams) -> None:
    """Memo length and timeout height."""
    if len(tx.memo) > params.max_memo_characters:
        raise ErrMemoTooLarge(
            f"maximum number of characters is {params.max_memo_characters} but received "
            f"{len(tx.memo)} characters"
        )
    if tx.timeout_height and ctx.block.height > tx.timeout_height:
        raise ErrTxTimeoutHeight(
            f"block height: {ctx.block.height}, timeout height: {tx.timeout_height}"
        )


def compute_required_fee(gas_limit: int, min_gas_price: str) -> int:
    """Smallest fee (integer units) covering ``gas_limit`` at ``min_gas_price``, rounded up."""
    return Decimal.parse(min_gas_price).mul_int_ceil(gas_limit)


def check_fee(tx: DecodedTx, params: AnteParams) -> None:
    """The fee in the fee denom must cover gas limit x minimum gas price."""
    required = compute_required_fee(tx.gas_limit, params.min_gas_price)
    paid = sum(c.amount for c in tx.fee if c.denom == params.fee_denom)
    if paid < required:
        got = ",".join(f"{c.amount}{c.denom}" for c in tx.fee) or f"0{params.fee_denom}"
        raise ErrInsufficientFee(
            f"insufficient fees; got: {got} required: {required}{params.fee_denom}"
        )


def resolve_pubkey(stored: bytes | None, provided: bytes | None, signer: bytes) -> bytes:
    """The key to verify with: the stored one, or the one in the tx if it matches the address."""
    if stored is not None:
        if provided is not None and provided != stored:
            raise ErrInvalidPubKey("public key in tx differs from the account's key")
        return stored
    if provided is None:
        raise ErrInvalidPubKey(f"account {crypto.to_bech32(signer)} has no public key; include it")
    if crypto.address_from_secp256k1(provided) != signer:
        raise ErrInvalidPubKey("public key does not match the signer address")
    return provided
