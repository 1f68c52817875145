from infera.agreement.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScheduledRound(_message.Message):
    __slots__ = ("height", "job_id")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    height: int
    job_id: int
    def __init__(self, height: _Optional[int] = ..., job_id: _Optional[int] = ...) -> None: ...

class GenesisState(_message.Message):
    __slots__ = ("params", "commitments", "reveals", "outputs", "disputes", "votes", "settlements", "schedule", "audits", "verifications")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    COMMITMENTS_FIELD_NUMBER: _ClassVar[int]
    REVEALS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    DISPUTES_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENTS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    AUDITS_FIELD_NUMBER: _ClassVar[int]
    VERIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    params: _types_pb2.Params
    commitments: _containers.RepeatedCompositeFieldContainer[_types_pb2.Commitment]
    reveals: _containers.RepeatedCompositeFieldContainer[_types_pb2.Reveal]
    outputs: _containers.RepeatedCompositeFieldContainer[JobOutput]
    disputes: _containers.RepeatedCompositeFieldContainer[_types_pb2.Dispute]
    votes: _containers.RepeatedCompositeFieldContainer[_types_pb2.DisputeVote]
    settlements: _containers.RepeatedCompositeFieldContainer[_types_pb2.Settlement]
    schedule: _containers.RepeatedCompositeFieldContainer[ScheduledRound]
    audits: _containers.RepeatedCompositeFieldContainer[_types_pb2.Audit]
    verifications: _containers.RepeatedCompositeFieldContainer[_types_pb2.Verification]
    def __init__(self, params: _Optional[_Union[_types_pb2.Params, _Mapping]] = ..., commitments: _Optional[_Iterable[_Union[_types_pb2.Commitment, _Mapping]]] = ..., reveals: _Optional[_Iterable[_Union[_types_pb2.Reveal, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[JobOutput, _Mapping]]] = ..., disputes: _Optional[_Iterable[_Union[_types_pb2.Dispute, _Mapping]]] = ..., votes: _Optional[_Iterable[_Union[_types_pb2.DisputeVote, _Mapping]]] = ..., settlements: _Optional[_Iterable[_Union[_types_pb2.Settlement, _Mapping]]] = ..., schedule: _Optional[_Iterable[_Union[ScheduledRound, _Mapping]]] = ..., audits: _Optional[_Iterable[_Union[_types_pb2.Audit, _Mapping]]] = ..., verifications: _Optional[_Iterable[_Union[_types_pb2.Verification, _Mapping]]] = ...) -> None: ...

class JobOutput(_message.Message):
    __slots__ = ("job_id", "output")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    output: _types_pb2.Output
    def __init__(self, job_id: _Optional[int] = ..., output: _Optional[_Union[_types_pb2.Output, _Mapping]] = ...) -> None: ...
