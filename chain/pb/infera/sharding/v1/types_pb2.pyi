from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Params(_message.Message):
    __slots__ = ("max_redundancy", "max_search_steps", "max_candidates", "gas_per_candidate", "max_reputation_factor", "max_operator_routes_per_block")
    MAX_REDUNDANCY_FIELD_NUMBER: _ClassVar[int]
    MAX_SEARCH_STEPS_FIELD_NUMBER: _ClassVar[int]
    MAX_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    GAS_PER_CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    MAX_REPUTATION_FACTOR_FIELD_NUMBER: _ClassVar[int]
    MAX_OPERATOR_ROUTES_PER_BLOCK_FIELD_NUMBER: _ClassVar[int]
    max_redundancy: int
    max_search_steps: int
    max_candidates: int
    gas_per_candidate: int
    max_reputation_factor: int
    max_operator_routes_per_block: int
    def __init__(self, max_redundancy: _Optional[int] = ..., max_search_steps: _Optional[int] = ..., max_candidates: _Optional[int] = ..., gas_per_candidate: _Optional[int] = ..., max_reputation_factor: _Optional[int] = ..., max_operator_routes_per_block: _Optional[int] = ...) -> None: ...

class Hop(_message.Message):
    __slots__ = ("operator", "start", "end")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    operator: str
    start: int
    end: int
    def __init__(self, operator: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class Route(_message.Message):
    __slots__ = ("hops",)
    HOPS_FIELD_NUMBER: _ClassVar[int]
    hops: _containers.RepeatedCompositeFieldContainer[Hop]
    def __init__(self, hops: _Optional[_Iterable[_Union[Hop, _Mapping]]] = ...) -> None: ...

class LayerCoverage(_message.Message):
    __slots__ = ("layer", "workers", "throughput")
    LAYER_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    THROUGHPUT_FIELD_NUMBER: _ClassVar[int]
    layer: int
    workers: _containers.RepeatedScalarFieldContainer[str]
    throughput: int
    def __init__(self, layer: _Optional[int] = ..., workers: _Optional[_Iterable[str]] = ..., throughput: _Optional[int] = ...) -> None: ...
