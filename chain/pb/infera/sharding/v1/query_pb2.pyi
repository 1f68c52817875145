from infera.sharding.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QueryCoverageRequest(_message.Message):
    __slots__ = ("model_id",)
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    def __init__(self, model_id: _Optional[str] = ...) -> None: ...

class QueryCoverageResponse(_message.Message):
    __slots__ = ("model_id", "num_layers", "layers", "min_throughput", "fully_covered")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    NUM_LAYERS_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    MIN_THROUGHPUT_FIELD_NUMBER: _ClassVar[int]
    FULLY_COVERED_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    num_layers: int
    layers: _containers.RepeatedCompositeFieldContainer[_types_pb2.LayerCoverage]
    min_throughput: int
    fully_covered: bool
    def __init__(self, model_id: _Optional[str] = ..., num_layers: _Optional[int] = ..., layers: _Optional[_Iterable[_Union[_types_pb2.LayerCoverage, _Mapping]]] = ..., min_throughput: _Optional[int] = ..., fully_covered: bool = ...) -> None: ...

class QuerySuggestSpanRequest(_message.Message):
    __slots__ = ("model_id", "memory_bytes", "throughput")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    THROUGHPUT_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    memory_bytes: int
    throughput: int
    def __init__(self, model_id: _Optional[str] = ..., memory_bytes: _Optional[int] = ..., throughput: _Optional[int] = ...) -> None: ...

class QuerySuggestSpanResponse(_message.Message):
    __slots__ = ("start", "end", "min_throughput_before", "min_throughput_after")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    MIN_THROUGHPUT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    MIN_THROUGHPUT_AFTER_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    min_throughput_before: int
    min_throughput_after: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., min_throughput_before: _Optional[int] = ..., min_throughput_after: _Optional[int] = ...) -> None: ...

class QueryRoutesRequest(_message.Message):
    __slots__ = ("model_id", "redundancy", "seed", "precision")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    REDUNDANCY_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    redundancy: int
    seed: bytes
    precision: str
    def __init__(self, model_id: _Optional[str] = ..., redundancy: _Optional[int] = ..., seed: _Optional[bytes] = ..., precision: _Optional[str] = ...) -> None: ...

class QueryRoutesResponse(_message.Message):
    __slots__ = ("routes", "precision")
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    routes: _containers.RepeatedCompositeFieldContainer[_types_pb2.Route]
    precision: str
    def __init__(self, routes: _Optional[_Iterable[_Union[_types_pb2.Route, _Mapping]]] = ..., precision: _Optional[str] = ...) -> None: ...

class QueryParamsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QueryParamsResponse(_message.Message):
    __slots__ = ("params",)
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    params: _types_pb2.Params
    def __init__(self, params: _Optional[_Union[_types_pb2.Params, _Mapping]] = ...) -> None: ...
