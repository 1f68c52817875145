from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WorkerStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKER_STATUS_UNSPECIFIED: _ClassVar[WorkerStatus]
    WORKER_STATUS_BONDED: _ClassVar[WorkerStatus]
    WORKER_STATUS_UNBONDING: _ClassVar[WorkerStatus]
WORKER_STATUS_UNSPECIFIED: WorkerStatus
WORKER_STATUS_BONDED: WorkerStatus
WORKER_STATUS_UNBONDING: WorkerStatus

class Hardware(_message.Message):
    __slots__ = ("device", "memory_bytes", "throughput")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    THROUGHPUT_FIELD_NUMBER: _ClassVar[int]
    device: str
    memory_bytes: int
    throughput: int
    def __init__(self, device: _Optional[str] = ..., memory_bytes: _Optional[int] = ..., throughput: _Optional[int] = ...) -> None: ...

class Runtime(_message.Message):
    __slots__ = ("torch_version", "transformers_version", "dtype")
    TORCH_VERSION_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMERS_VERSION_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    torch_version: str
    transformers_version: str
    dtype: str
    def __init__(self, torch_version: _Optional[str] = ..., transformers_version: _Optional[str] = ..., dtype: _Optional[str] = ...) -> None: ...

class Span(_message.Message):
    __slots__ = ("model_id", "start", "end")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    start: int
    end: int
    def __init__(self, model_id: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class Worker(_message.Message):
    __slots__ = ("operator", "endpoint", "hardware", "runtime", "encryption_pubkey", "status", "bonded", "unbonding", "unbonding_completion_height", "slashed", "registered_height", "last_heartbeat_height", "spans", "speed", "speed_samples")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BONDED_FIELD_NUMBER: _ClassVar[int]
    UNBONDING_FIELD_NUMBER: _ClassVar[int]
    UNBONDING_COMPLETION_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SLASHED_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    SPEED_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    operator: str
    endpoint: str
    hardware: Hardware
    runtime: Runtime
    encryption_pubkey: bytes
    status: WorkerStatus
    bonded: str
    unbonding: str
    unbonding_completion_height: int
    slashed: str
    registered_height: int
    last_heartbeat_height: int
    spans: _containers.RepeatedCompositeFieldContainer[Span]
    speed: int
    speed_samples: int
    def __init__(self, operator: _Optional[str] = ..., endpoint: _Optional[str] = ..., hardware: _Optional[_Union[Hardware, _Mapping]] = ..., runtime: _Optional[_Union[Runtime, _Mapping]] = ..., encryption_pubkey: _Optional[bytes] = ..., status: _Optional[_Union[WorkerStatus, str]] = ..., bonded: _Optional[str] = ..., unbonding: _Optional[str] = ..., unbonding_completion_height: _Optional[int] = ..., slashed: _Optional[str] = ..., registered_height: _Optional[int] = ..., last_heartbeat_height: _Optional[int] = ..., spans: _Optional[_Iterable[_Union[Span, _Mapping]]] = ..., speed: _Optional[int] = ..., speed_samples: _Optional[int] = ...) -> None: ...

class Params(_message.Message):
    __slots__ = ("bond_denom", "min_stake", "heartbeat_timeout_blocks", "unbonding_blocks", "max_spans_per_worker", "max_unbondings_per_block", "max_spans_per_model")
    BOND_DENOM_FIELD_NUMBER: _ClassVar[int]
    MIN_STAKE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    UNBONDING_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    MAX_SPANS_PER_WORKER_FIELD_NUMBER: _ClassVar[int]
    MAX_UNBONDINGS_PER_BLOCK_FIELD_NUMBER: _ClassVar[int]
    MAX_SPANS_PER_MODEL_FIELD_NUMBER: _ClassVar[int]
    bond_denom: str
    min_stake: str
    heartbeat_timeout_blocks: int
    unbonding_blocks: int
    max_spans_per_worker: int
    max_unbondings_per_block: int
    max_spans_per_model: int
    def __init__(self, bond_denom: _Optional[str] = ..., min_stake: _Optional[str] = ..., heartbeat_timeout_blocks: _Optional[int] = ..., unbonding_blocks: _Optional[int] = ..., max_spans_per_worker: _Optional[int] = ..., max_unbondings_per_block: _Optional[int] = ..., max_spans_per_model: _Optional[int] = ...) -> None: ...
