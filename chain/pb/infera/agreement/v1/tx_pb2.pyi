from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class MsgCommitOutput(_message.Message):
    __slots__ = ("worker", "job_id", "commitment")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    worker: str
    job_id: int
    commitment: bytes
    def __init__(self, worker: _Optional[str] = ..., job_id: _Optional[int] = ..., commitment: _Optional[bytes] = ...) -> None: ...

class MsgCommitOutputResponse(_message.Message):
    __slots__ = ("route_index", "hop_index")
    ROUTE_INDEX_FIELD_NUMBER: _ClassVar[int]
    HOP_INDEX_FIELD_NUMBER: _ClassVar[int]
    route_index: int
    hop_index: int
    def __init__(self, route_index: _Optional[int] = ..., hop_index: _Optional[int] = ...) -> None: ...

class MsgRevealOutput(_message.Message):
    __slots__ = ("worker", "job_id", "output_tokens", "output_bytes", "shard_fingerprint", "salt", "keyed_output_hash", "output_token_count", "sealed_output")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHARD_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    KEYED_OUTPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
    SEALED_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    worker: str
    job_id: int
    output_tokens: _containers.RepeatedScalarFieldContainer[int]
    output_bytes: bytes
    shard_fingerprint: bytes
    salt: bytes
    keyed_output_hash: bytes
    output_token_count: int
    sealed_output: bytes
    def __init__(self, worker: _Optional[str] = ..., job_id: _Optional[int] = ..., output_tokens: _Optional[_Iterable[int]] = ..., output_bytes: _Optional[bytes] = ..., shard_fingerprint: _Optional[bytes] = ..., salt: _Optional[bytes] = ..., keyed_output_hash: _Optional[bytes] = ..., output_token_count: _Optional[int] = ..., sealed_output: _Optional[bytes] = ...) -> None: ...

class MsgRevealOutputResponse(_message.Message):
    __slots__ = ("output_hash",)
    OUTPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    output_hash: bytes
    def __init__(self, output_hash: _Optional[bytes] = ...) -> None: ...

class MsgContestSeal(_message.Message):
    __slots__ = ("worker", "job_id")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    worker: str
    job_id: int
    def __init__(self, worker: _Optional[str] = ..., job_id: _Optional[int] = ...) -> None: ...

class MsgContestSealResponse(_message.Message):
    __slots__ = ("route_index", "hop_index")
    ROUTE_INDEX_FIELD_NUMBER: _ClassVar[int]
    HOP_INDEX_FIELD_NUMBER: _ClassVar[int]
    route_index: int
    hop_index: int
    def __init__(self, route_index: _Optional[int] = ..., hop_index: _Optional[int] = ...) -> None: ...
