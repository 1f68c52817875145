"""Default distribution params."""

import chain.pb  # noqa: F401

from infera.distribution.v1 import types_pb2


def default_params() -> types_pb2.Params:
    return types_pb2.Params(community_tax="0.02", denom="uinfera")  # the Cosmos Hub's 2 %
