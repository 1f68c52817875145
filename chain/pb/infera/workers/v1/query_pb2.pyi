from infera.base.v1 import pagination_pb2 as _pagination_pb2
from infera.workers.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QueryWorkerRequest(_message.Message):
    __slots__ = ("operator",)
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    operator: str
    def __init__(self, operator: _Optional[str] = ...) -> None: ...

class QueryWorkerResponse(_message.Message):
    __slots__ = ("worker", "attestation")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    worker: _types_pb2.Worker
    attestation: WorkerAttestation
    def __init__(self, worker: _Optional[_Union[_types_pb2.Worker, _Mapping]] = ..., attestation: _Optional[_Union[WorkerAttestation, _Mapping]] = ...) -> None: ...

class WorkerAttestation(_message.Message):
    __slots__ = ("tee_type", "verifier", "verifier_version", "tcb_status", "measurement", "epoch", "height", "expires_height", "expires_time", "valid", "binds_current_key")
    TEE_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_VERSION_FIELD_NUMBER: _ClassVar[int]
    TCB_STATUS_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENT_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_TIME_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    BINDS_CURRENT_KEY_FIELD_NUMBER: _ClassVar[int]
    tee_type: str
    verifier: str
    verifier_version: str
    tcb_status: str
    measurement: bytes
    epoch: int
    height: int
    expires_height: int
    expires_time: int
    valid: bool
    binds_current_key: bool
    def __init__(self, tee_type: _Optional[str] = ..., verifier: _Optional[str] = ..., verifier_version: _Optional[str] = ..., tcb_status: _Optional[str] = ..., measurement: _Optional[bytes] = ..., epoch: _Optional[int] = ..., height: _Optional[int] = ..., expires_height: _Optional[int] = ..., expires_time: _Optional[int] = ..., valid: bool = ..., binds_current_key: bool = ...) -> None: ...

class QueryWorkersRequest(_message.Message):
    __slots__ = ("pagination",)
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    pagination: _pagination_pb2.PageRequest
    def __init__(self, pagination: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class QueryWorkersResponse(_message.Message):
    __slots__ = ("workers", "pagination")
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    PAGINATION_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[_types_pb2.Worker]
    pagination: _pagination_pb2.PageResponse
    def __init__(self, workers: _Optional[_Iterable[_Union[_types_pb2.Worker, _Mapping]]] = ..., pagination: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class QueryWorkerStatsRequest(_message.Message):
    __slots__ = ("operator",)
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    operator: str
    def __init__(self, operator: _Optional[str] = ...) -> None: ...

class QueryWorkerStatsResponse(_message.Message):
    __slots__ = ("operator", "bonded", "unbonding", "stake", "reputation", "spans", "active", "used_memory_bytes", "memory_bytes", "last_heartbeat_height")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    BONDED_FIELD_NUMBER: _ClassVar[int]
    UNBONDING_FIELD_NUMBER: _ClassVar[int]
    STAKE_FIELD_NUMBER: _ClassVar[int]
    REPUTATION_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    USED_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    operator: str
    bonded: str
    unbonding: str
    stake: str
    reputation: int
    spans: _containers.RepeatedCompositeFieldContainer[_types_pb2.Span]
    active: bool
    used_memory_bytes: int
    memory_bytes: int
    last_heartbeat_height: int
    def __init__(self, operator: _Optional[str] = ..., bonded: _Optional[str] = ..., unbonding: _Optional[str] = ..., stake: _Optional[str] = ..., reputation: _Optional[int] = ..., spans: _Optional[_Iterable[_Union[_types_pb2.Span, _Mapping]]] = ..., active: bool = ..., used_memory_bytes: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., last_heartbeat_height: _Optional[int] = ...) -> None: ...

class QueryParamsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QueryParamsResponse(_message.Message):
    __slots__ = ("params",)
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    params: _types_pb2.Params
    def __init__(self, params: _Optional[_Union[_types_pb2.Params, _Mapping]] = ...) -> None: ...
