from infera.tee.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GenesisState(_message.Message):
    __slots__ = ("params", "attestations", "requirements")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    ATTESTATIONS_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    params: _types_pb2.Params
    attestations: _containers.RepeatedCompositeFieldContainer[_types_pb2.Attestation]
    requirements: _containers.RepeatedCompositeFieldContainer[_types_pb2.ModelRequirement]
    def __init__(self, params: _Optional[_Union[_types_pb2.Params, _Mapping]] = ..., attestations: _Optional[_Iterable[_Union[_types_pb2.Attestation, _Mapping]]] = ..., requirements: _Optional[_Iterable[_Union[_types_pb2.ModelRequirement, _Mapping]]] = ...) -> None: ...
