"""auth keeper: get/set of accounts, account numbers and params."""

from __future__ import annotations

from collections.abc import Iterator

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.store import prefix_end
from cosmos.auth.v1beta1 import auth_pb2
from cosmos.crypto.secp256k1 import keys_pb2 as secp256k1_pb2
from infera.auth.v1 import types_pb2
from modules.auth import keys

PUBKEY_TYPE_URL = "/cosmos.crypto.secp256k1.PubKey"


class AccountKeeper:
    """Accounts are Cosmos ``BaseAccount`` records, so cosmpy reads them as it would anywhere."""

    def get_params(self, ctx: Context) -> types_pb2.Params:
        params = types_pb2.Params()
        raw = ctx.store.get(keys.PARAMS)
        if raw is None:
            raise RuntimeError("auth params missing from state")
        params.ParseFromString(raw)
        return params

    def set_params(self, ctx: Context, params: types_pb2.Params) -> None:
        ctx.store.set(keys.PARAMS, params.SerializeToString())

    def get_account(self, ctx: Context, address: bytes) -> auth_pb2.BaseAccount | None:
        raw = ctx.store.get(keys.account_key(address))
        if raw is None:
            return None
        account = auth_pb2.BaseAccount()
        account.ParseFromString(raw)
        return account

    def set_account(self, ctx: Context, account: auth_pb2.BaseAccount) -> None:
        address = crypto.from_bech32(account.address)
        ctx.store.set(keys.account_key(address), account.SerializeToString(deterministic=True))

    def has_account(self, ctx: Context, address: bytes) -> bool:
        return ctx.store.get(keys.account_key(address)) is not None

    def next_account_number(self, ctx: Context) -> int:
        """Return the next account number and advance the counter."""
        raw = ctx.store.get(keys.NEXT_ACCOUNT_NUMBER)
        number = int(raw) if raw else 0
        ctx.store.set(keys.NEXT_ACCOUNT_NUMBER, str(number + 1).encode())
        return number

    def ensure_account(self, ctx: Context, address: bytes) -> auth_pb2.BaseAccount:
        """The account at ``address``, created with the next number if it does not exist."""
        account = self.get_account(ctx, address)
        if account is None:
            account = auth_pb2.BaseAccount(
                address=crypto.to_bech32(address), account_number=self.next_account_number(ctx)
            )
            self.set_account(ctx, account)
        return account

    def get_pubkey(self, account: auth_pb2.BaseAccount) -> bytes | None:
        if not account.HasField("pub_key"):
            return None
        key = secp256k1_pb2.PubKey()
        key.ParseFromString(account.pub_key.value)
        return key.key

    def set_pubkey(self, account: auth_pb2.BaseAccount, pubkey: bytes) -> None:
        if self.get_pubkey(account) is None:
            account.pub_key.Pack(secp256k1_pb2.PubKey(key=pubkey), type_url_prefix="/")

    def iterate_accounts(self, ctx: Context, start: bytes = b"") -> Iterator[auth_pb2.BaseAccount]:
        """Accounts in address order from address ``start`` on (queries, genesis export)."""
        for _, raw in ctx.store.iterate(keys.ACCOUNT + start, prefix_end(keys.ACCOUNT)):
            account = auth_pb2.BaseAccount()
            account.ParseFromString(raw)
            yield account
