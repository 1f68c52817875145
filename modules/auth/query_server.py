"""auth queries, served under the Cosmos SDK's own paths so cosmpy works unmodified."""

from __future__ import annotations

import chain.pb  # noqa: F401

from google.protobuf import any_pb2

from chain import crypto
from chain.context import Context
from chain.cosmos_pagination import paginate
from chain.errors import ErrNotFound
from cosmos.auth.v1beta1 import auth_pb2, query_pb2
from modules.auth import keys
from modules.auth.keeper import AccountKeeper


def account(
    ctx: Context, keeper: AccountKeeper, req: query_pb2.QueryAccountRequest
) -> query_pb2.QueryAccountResponse:
    """The account at an address, as an Any of ``/cosmos.auth.v1beta1.BaseAccount``."""
    found = keeper.get_account(ctx, crypto.from_bech32(req.address))
    if found is None:
        raise ErrNotFound(f"account {req.address} not found")
    response = query_pb2.QueryAccountResponse()
    response.account.Pack(found, type_url_prefix="/")
    return response


def accounts(
    ctx: Context, keeper: AccountKeeper, req: query_pb2.QueryAccountsRequest
) -> query_pb2.QueryAccountsResponse:
    """A page of accounts in address order, each an Any of ``/cosmos.auth.v1beta1.BaseAccount``."""
    page, pagination = paginate(ctx.store, keys.ACCOUNT, req.pagination, _packed_account)
    return query_pb2.QueryAccountsResponse(accounts=page, pagination=pagination)


def params(
    ctx: Context, keeper: AccountKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    """Infera's auth params as the SDK's ``cosmos.auth.v1beta1.Params``.

    Infera accepts secp256k1 keys only (chain/tx.py rejects any other pubkey type), so no ed25519
    verification is ever charged and ``sig_verify_cost_ed25519`` is 0. ``min_gas_price`` and
    ``fee_denom`` have no field in the SDK message and are left out.
    """
    own = keeper.get_params(ctx)
    return query_pb2.QueryParamsResponse(
        params=auth_pb2.Params(
            max_memo_characters=own.max_memo_characters,
            tx_sig_limit=own.tx_sig_limit,
            tx_size_cost_per_byte=own.tx_size_cost_per_byte,
            sig_verify_cost_ed25519=0,
            sig_verify_cost_secp256k1=own.sig_verify_cost_secp256k1,
        )
    )


def _packed_account(address: bytes, raw: bytes) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(auth_pb2.BaseAccount.FromString(raw), type_url_prefix="/")
    return packed
