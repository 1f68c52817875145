"""auth queries, served under the Cosmos SDK's own paths so cosmpy works unmodified."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.errors import ErrNotFound
from cosmos.auth.v1beta1 import query_pb2
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
