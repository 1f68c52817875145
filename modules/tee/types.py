"""tee types: the protobuf messages (infera.tee.v1) and the verifiers' verdict."""

import chain.pb  # noqa: F401

from infera.tee.v1.types_pb2 import Attestation, ModelRequirement, Params, TeeType
from modules.tee.verdict import Evidence, Failure, Verdict

__all__ = [
    "Attestation",
    "Evidence",
    "Failure",
    "ModelRequirement",
    "Params",
    "TeeType",
    "Verdict",
]
