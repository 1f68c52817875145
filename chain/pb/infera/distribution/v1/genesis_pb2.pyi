from infera.distribution.v1 import types_pb2 as _types_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GenesisState(_message.Message):
    __slots__ = ("params", "community_pool")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    COMMUNITY_POOL_FIELD_NUMBER: _ClassVar[int]
    params: _types_pb2.Params
    community_pool: str
    def __init__(self, params: _Optional[_Union[_types_pb2.Params, _Mapping]] = ..., community_pool: _Optional[str] = ...) -> None: ...
