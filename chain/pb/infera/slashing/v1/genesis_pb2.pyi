from infera.slashing.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GenesisState(_message.Message):
    __slots__ = ("params", "signing_infos")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    SIGNING_INFOS_FIELD_NUMBER: _ClassVar[int]
    params: _types_pb2.Params
    signing_infos: _containers.RepeatedCompositeFieldContainer[_types_pb2.ValidatorSigningInfo]
    def __init__(self, params: _Optional[_Union[_types_pb2.Params, _Mapping]] = ..., signing_infos: _Optional[_Iterable[_Union[_types_pb2.ValidatorSigningInfo, _Mapping]]] = ...) -> None: ...
