from infera.zk.v1 import types_pb2 as _types_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MsgRegisterVerifyingKey(_message.Message):
    __slots__ = ("owner", "id", "model_id", "key", "dev_setup", "weights", "weights_commitment")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    DEV_SETUP_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    owner: str
    id: str
    model_id: str
    key: bytes
    dev_setup: bool
    weights: _types_pb2.WeightsMode
    weights_commitment: bytes
    def __init__(self, owner: _Optional[str] = ..., id: _Optional[str] = ..., model_id: _Optional[str] = ..., key: _Optional[bytes] = ..., dev_setup: bool = ..., weights: _Optional[_Union[_types_pb2.WeightsMode, str]] = ..., weights_commitment: _Optional[bytes] = ...) -> None: ...

class MsgRegisterVerifyingKeyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MsgSubmitProof(_message.Message):
    __slots__ = ("prover", "job_id", "proof", "public_inputs")
    PROVER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_INPUTS_FIELD_NUMBER: _ClassVar[int]
    prover: str
    job_id: int
    proof: bytes
    public_inputs: bytes
    def __init__(self, prover: _Optional[str] = ..., job_id: _Optional[int] = ..., proof: _Optional[bytes] = ..., public_inputs: _Optional[bytes] = ...) -> None: ...

class MsgSubmitProofResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
