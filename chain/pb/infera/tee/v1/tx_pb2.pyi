from infera.tee.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MsgAttest(_message.Message):
    __slots__ = ("operator", "tee_type", "report", "collateral", "cert_chain", "epoch")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    TEE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    COLLATERAL_FIELD_NUMBER: _ClassVar[int]
    CERT_CHAIN_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    operator: str
    tee_type: _types_pb2.TeeType
    report: bytes
    collateral: bytes
    cert_chain: bytes
    epoch: int
    def __init__(self, operator: _Optional[str] = ..., tee_type: _Optional[_Union[_types_pb2.TeeType, str]] = ..., report: _Optional[bytes] = ..., collateral: _Optional[bytes] = ..., cert_chain: _Optional[bytes] = ..., epoch: _Optional[int] = ...) -> None: ...

class MsgAttestResponse(_message.Message):
    __slots__ = ("expires_height", "expires_time")
    EXPIRES_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_TIME_FIELD_NUMBER: _ClassVar[int]
    expires_height: int
    expires_time: int
    def __init__(self, expires_height: _Optional[int] = ..., expires_time: _Optional[int] = ...) -> None: ...

class MsgSetModelRequirement(_message.Message):
    __slots__ = ("owner", "model_id", "tee_types", "measurements")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    TEE_TYPES_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENTS_FIELD_NUMBER: _ClassVar[int]
    owner: str
    model_id: str
    tee_types: _containers.RepeatedScalarFieldContainer[_types_pb2.TeeType]
    measurements: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, owner: _Optional[str] = ..., model_id: _Optional[str] = ..., tee_types: _Optional[_Iterable[_Union[_types_pb2.TeeType, str]]] = ..., measurements: _Optional[_Iterable[str]] = ...) -> None: ...

class MsgSetModelRequirementResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
