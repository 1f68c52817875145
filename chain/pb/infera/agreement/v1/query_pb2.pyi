from infera.agreement.v1 import types_pb2 as _types_pb2
from infera.inference.v1 import types_pb2 as _types_pb2_1
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QueryOpenVerificationsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QueryOpenVerificationsResponse(_message.Message):
    __slots__ = ("job_ids",)
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, job_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class QueryJobHistoryRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    def __init__(self, job_id: _Optional[int] = ...) -> None: ...

class QueryJobHistoryResponse(_message.Message):
    __slots__ = ("job", "commitments", "reveals", "outputs", "dispute", "votes", "settlement", "audit")
    JOB_FIELD_NUMBER: _ClassVar[int]
    COMMITMENTS_FIELD_NUMBER: _ClassVar[int]
    REVEALS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    DISPUTE_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_FIELD_NUMBER: _ClassVar[int]
    AUDIT_FIELD_NUMBER: _ClassVar[int]
    job: _types_pb2_1.Job
    commitments: _containers.RepeatedCompositeFieldContainer[_types_pb2.Commitment]
    reveals: _containers.RepeatedCompositeFieldContainer[_types_pb2.Reveal]
    outputs: _containers.RepeatedCompositeFieldContainer[_types_pb2.Output]
    dispute: _types_pb2.Dispute
    votes: _containers.RepeatedCompositeFieldContainer[_types_pb2.DisputeVote]
    settlement: _types_pb2.Settlement
    audit: _types_pb2.Audit
    def __init__(self, job: _Optional[_Union[_types_pb2_1.Job, _Mapping]] = ..., commitments: _Optional[_Iterable[_Union[_types_pb2.Commitment, _Mapping]]] = ..., reveals: _Optional[_Iterable[_Union[_types_pb2.Reveal, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[_types_pb2.Output, _Mapping]]] = ..., dispute: _Optional[_Union[_types_pb2.Dispute, _Mapping]] = ..., votes: _Optional[_Iterable[_Union[_types_pb2.DisputeVote, _Mapping]]] = ..., settlement: _Optional[_Union[_types_pb2.Settlement, _Mapping]] = ..., audit: _Optional[_Union[_types_pb2.Audit, _Mapping]] = ...) -> None: ...

class QueryParamsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QueryParamsResponse(_message.Message):
    __slots__ = ("params",)
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    params: _types_pb2.Params
    def __init__(self, params: _Optional[_Union[_types_pb2.Params, _Mapping]] = ...) -> None: ...
