"""beacon queries: the beacon of a height (with the key that proves it), params."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain.context import Context
from infera.beacon.v1 import query_pb2
from modules.beacon import keys
from modules.beacon.keeper import BeaconKeeper

MAX_HEIGHT = 2**63 - 1


def beacon(
    ctx: Context, keeper: BeaconKeeper, req: query_pb2.QueryBeaconRequest
) -> query_pb2.QueryBeaconResponse:
    """beacon(height) or an empty value (none, not yet revealed, or pruned). ``store_key`` is
    what ``infera.store.v1.Query/Proven`` proves against the app hash (chain/light.py)."""
    height = min(req.height, MAX_HEIGHT)
    value = keeper.get_beacon(ctx, height)
    return query_pb2.QueryBeaconResponse(value=value or b"", store_key=keys.value_key(height))


def params(
    ctx: Context, keeper: BeaconKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))
