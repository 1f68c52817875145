"""zk types: the protobuf messages (infera.zk.v1) and the decoded curve data (encoding.py)."""

import chain.pb  # noqa: F401

from infera.zk.v1.types_pb2 import Params, ProofRecord, ProofStatus, VerifyingKey
from modules.zk.encoding import Proof
from modules.zk.encoding import VerifyingKey as DecodedKey

__all__ = ["DecodedKey", "Params", "Proof", "ProofRecord", "ProofStatus", "VerifyingKey"]
