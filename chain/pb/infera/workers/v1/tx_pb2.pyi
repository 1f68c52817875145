from infera.base.v1 import coin_pb2 as _coin_pb2
from infera.workers.v1 import types_pb2 as _types_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MsgRegisterWorker(_message.Message):
    __slots__ = ("operator", "endpoint", "hardware", "runtime", "encryption_pubkey", "stake")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    STAKE_FIELD_NUMBER: _ClassVar[int]
    operator: str
    endpoint: str
    hardware: _types_pb2.Hardware
    runtime: _types_pb2.Runtime
    encryption_pubkey: bytes
    stake: _coin_pb2.Coin
    def __init__(self, operator: _Optional[str] = ..., endpoint: _Optional[str] = ..., hardware: _Optional[_Union[_types_pb2.Hardware, _Mapping]] = ..., runtime: _Optional[_Union[_types_pb2.Runtime, _Mapping]] = ..., encryption_pubkey: _Optional[bytes] = ..., stake: _Optional[_Union[_coin_pb2.Coin, _Mapping]] = ...) -> None: ...

class MsgRegisterWorkerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MsgUpdateWorker(_message.Message):
    __slots__ = ("operator", "endpoint", "hardware", "runtime", "encryption_pubkey", "add_stake")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    ADD_STAKE_FIELD_NUMBER: _ClassVar[int]
    operator: str
    endpoint: str
    hardware: _types_pb2.Hardware
    runtime: _types_pb2.Runtime
    encryption_pubkey: bytes
    add_stake: _coin_pb2.Coin
    def __init__(self, operator: _Optional[str] = ..., endpoint: _Optional[str] = ..., hardware: _Optional[_Union[_types_pb2.Hardware, _Mapping]] = ..., runtime: _Optional[_Union[_types_pb2.Runtime, _Mapping]] = ..., encryption_pubkey: _Optional[bytes] = ..., add_stake: _Optional[_Union[_coin_pb2.Coin, _Mapping]] = ...) -> None: ...

class MsgUpdateWorkerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MsgServeSpan(_message.Message):
    __slots__ = ("operator", "model_id", "start", "end")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    operator: str
    model_id: str
    start: int
    end: int
    def __init__(self, operator: _Optional[str] = ..., model_id: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class MsgServeSpanResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MsgStopServing(_message.Message):
    __slots__ = ("operator", "model_id", "start", "end")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    operator: str
    model_id: str
    start: int
    end: int
    def __init__(self, operator: _Optional[str] = ..., model_id: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class MsgStopServingResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MsgHeartbeat(_message.Message):
    __slots__ = ("operator",)
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    operator: str
    def __init__(self, operator: _Optional[str] = ...) -> None: ...

class MsgHeartbeatResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MsgUnbondWorker(_message.Message):
    __slots__ = ("operator",)
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    operator: str
    def __init__(self, operator: _Optional[str] = ...) -> None: ...

class MsgUnbondWorkerResponse(_message.Message):
    __slots__ = ("completion_height",)
    COMPLETION_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    completion_height: int
    def __init__(self, completion_height: _Optional[int] = ...) -> None: ...
