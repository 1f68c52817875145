from infera.inference.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GenesisState(_message.Message):
    __slots__ = ("params", "jobs", "next_job_id", "seals")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SEALS_FIELD_NUMBER: _ClassVar[int]
    params: _types_pb2.Params
    jobs: _containers.RepeatedCompositeFieldContainer[_types_pb2.Job]
    next_job_id: int
    seals: _containers.RepeatedCompositeFieldContainer[_types_pb2.JobSeals]
    def __init__(self, params: _Optional[_Union[_types_pb2.Params, _Mapping]] = ..., jobs: _Optional[_Iterable[_Union[_types_pb2.Job, _Mapping]]] = ..., next_job_id: _Optional[int] = ..., seals: _Optional[_Iterable[_Union[_types_pb2.JobSeals, _Mapping]]] = ...) -> None: ...
