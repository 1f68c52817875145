from infera.workers.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Reputation(_message.Message):
    __slots__ = ("operator", "value")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    operator: str
    value: int
    def __init__(self, operator: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...

class GenesisState(_message.Message):
    __slots__ = ("params", "workers", "reputations", "burned")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    REPUTATIONS_FIELD_NUMBER: _ClassVar[int]
    BURNED_FIELD_NUMBER: _ClassVar[int]
    params: _types_pb2.Params
    workers: _containers.RepeatedCompositeFieldContainer[_types_pb2.Worker]
    reputations: _containers.RepeatedCompositeFieldContainer[Reputation]
    burned: str
    def __init__(self, params: _Optional[_Union[_types_pb2.Params, _Mapping]] = ..., workers: _Optional[_Iterable[_Union[_types_pb2.Worker, _Mapping]]] = ..., reputations: _Optional[_Iterable[_Union[Reputation, _Mapping]]] = ..., burned: _Optional[str] = ...) -> None: ...
