from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_CODE_UNSPECIFIED: _ClassVar[ErrorCode]
    ERROR_CODE_MALFORMED: _ClassVar[ErrorCode]
    ERROR_CODE_UNKNOWN_SESSION: _ClassVar[ErrorCode]
    ERROR_CODE_TOO_LARGE: _ClassVar[ErrorCode]
    ERROR_CODE_BUSY: _ClassVar[ErrorCode]
    ERROR_CODE_UNSUPPORTED: _ClassVar[ErrorCode]
    ERROR_CODE_HOP_FAILED: _ClassVar[ErrorCode]
    ERROR_CODE_EXPIRED: _ClassVar[ErrorCode]
    ERROR_CODE_SUPERSEDED: _ClassVar[ErrorCode]
    ERROR_CODE_INTERNAL: _ClassVar[ErrorCode]
    ERROR_CODE_BAD_FRAME_EVIDENCE: _ClassVar[ErrorCode]
ERROR_CODE_UNSPECIFIED: ErrorCode
ERROR_CODE_MALFORMED: ErrorCode
ERROR_CODE_UNKNOWN_SESSION: ErrorCode
ERROR_CODE_TOO_LARGE: ErrorCode
ERROR_CODE_BUSY: ErrorCode
ERROR_CODE_UNSUPPORTED: ErrorCode
ERROR_CODE_HOP_FAILED: ErrorCode
ERROR_CODE_EXPIRED: ErrorCode
ERROR_CODE_SUPERSEDED: ErrorCode
ERROR_CODE_INTERNAL: ErrorCode
ERROR_CODE_BAD_FRAME_EVIDENCE: ErrorCode

class SessionKey(_message.Message):
    __slots__ = ("job_id", "route_index")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_INDEX_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    route_index: int
    def __init__(self, job_id: _Optional[int] = ..., route_index: _Optional[int] = ...) -> None: ...

class Hop(_message.Message):
    __slots__ = ("worker", "endpoint", "layer_start", "layer_end")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    LAYER_START_FIELD_NUMBER: _ClassVar[int]
    LAYER_END_FIELD_NUMBER: _ClassVar[int]
    worker: str
    endpoint: str
    layer_start: int
    layer_end: int
    def __init__(self, worker: _Optional[str] = ..., endpoint: _Optional[str] = ..., layer_start: _Optional[int] = ..., layer_end: _Optional[int] = ...) -> None: ...

class Decoding(_message.Message):
    __slots__ = ("sample", "temperature_milli", "top_k", "seed")
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_MILLI_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    sample: bool
    temperature_milli: int
    top_k: int
    seed: int
    def __init__(self, sample: bool = ..., temperature_milli: _Optional[int] = ..., top_k: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class OpenSession(_message.Message):
    __slots__ = ("session", "model_id", "hops", "hop_index", "codec", "dtype", "decoding", "progress_timeout_ms", "split")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    HOP_INDEX_FIELD_NUMBER: _ClassVar[int]
    CODEC_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    DECODING_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    session: SessionKey
    model_id: str
    hops: _containers.RepeatedCompositeFieldContainer[Hop]
    hop_index: int
    codec: str
    dtype: str
    decoding: Decoding
    progress_timeout_ms: _containers.RepeatedScalarFieldContainer[int]
    split: SplitSession
    def __init__(self, session: _Optional[_Union[SessionKey, _Mapping]] = ..., model_id: _Optional[str] = ..., hops: _Optional[_Iterable[_Union[Hop, _Mapping]]] = ..., hop_index: _Optional[int] = ..., codec: _Optional[str] = ..., dtype: _Optional[str] = ..., decoding: _Optional[_Union[Decoding, _Mapping]] = ..., progress_timeout_ms: _Optional[_Iterable[int]] = ..., split: _Optional[_Union[SplitSession, _Mapping]] = ...) -> None: ...

class SplitSession(_message.Message):
    __slots__ = ("tail_layers",)
    TAIL_LAYERS_FIELD_NUMBER: _ClassVar[int]
    tail_layers: int
    def __init__(self, tail_layers: _Optional[int] = ...) -> None: ...

class HiddenStates(_message.Message):
    __slots__ = ("session", "step", "position", "shape", "data", "fingerprint_rows", "signature")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_ROWS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    session: SessionKey
    step: int
    position: int
    shape: _containers.RepeatedScalarFieldContainer[int]
    data: bytes
    fingerprint_rows: bytes
    signature: bytes
    def __init__(self, session: _Optional[_Union[SessionKey, _Mapping]] = ..., step: _Optional[int] = ..., position: _Optional[int] = ..., shape: _Optional[_Iterable[int]] = ..., data: _Optional[bytes] = ..., fingerprint_rows: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Reroute(_message.Message):
    __slots__ = ("session", "hop_index", "replacement")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    HOP_INDEX_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    session: SessionKey
    hop_index: int
    replacement: Hop
    def __init__(self, session: _Optional[_Union[SessionKey, _Mapping]] = ..., hop_index: _Optional[int] = ..., replacement: _Optional[_Union[Hop, _Mapping]] = ...) -> None: ...

class CloseSession(_message.Message):
    __slots__ = ("session", "reason")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    session: SessionKey
    reason: str
    def __init__(self, session: _Optional[_Union[SessionKey, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class LateEvidence(_message.Message):
    __slots__ = ("session", "fingerprint_rows", "signature")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_ROWS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    session: SessionKey
    fingerprint_rows: bytes
    signature: bytes
    def __init__(self, session: _Optional[_Union[SessionKey, _Mapping]] = ..., fingerprint_rows: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class HopFrame(_message.Message):
    __slots__ = ("open", "hidden", "reroute", "close", "late")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    REROUTE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    LATE_FIELD_NUMBER: _ClassVar[int]
    open: OpenSession
    hidden: HiddenStates
    reroute: Reroute
    close: CloseSession
    late: LateEvidence
    def __init__(self, open: _Optional[_Union[OpenSession, _Mapping]] = ..., hidden: _Optional[_Union[HiddenStates, _Mapping]] = ..., reroute: _Optional[_Union[Reroute, _Mapping]] = ..., close: _Optional[_Union[CloseSession, _Mapping]] = ..., late: _Optional[_Union[LateEvidence, _Mapping]] = ...) -> None: ...

class Token(_message.Message):
    __slots__ = ("session", "step", "token_id")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    session: SessionKey
    step: int
    token_id: int
    def __init__(self, session: _Optional[_Union[SessionKey, _Mapping]] = ..., step: _Optional[int] = ..., token_id: _Optional[int] = ...) -> None: ...

class SessionError(_message.Message):
    __slots__ = ("session", "code", "failed_hop", "message")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    FAILED_HOP_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    session: SessionKey
    code: ErrorCode
    failed_hop: int
    message: str
    def __init__(self, session: _Optional[_Union[SessionKey, _Mapping]] = ..., code: _Optional[_Union[ErrorCode, str]] = ..., failed_hop: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class ReplyFrame(_message.Message):
    __slots__ = ("token", "error", "hidden")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    token: Token
    error: SessionError
    hidden: HiddenStates
    def __init__(self, token: _Optional[_Union[Token, _Mapping]] = ..., error: _Optional[_Union[SessionError, _Mapping]] = ..., hidden: _Optional[_Union[HiddenStates, _Mapping]] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("session", "model_id", "hops", "candidates", "prompt_ids", "prompt_text", "max_new_tokens", "eos_token_ids", "ignore_eos", "decoding", "codec", "progress_timeout_ms")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    PROMPT_IDS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEXT_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    EOS_TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    IGNORE_EOS_FIELD_NUMBER: _ClassVar[int]
    DECODING_FIELD_NUMBER: _ClassVar[int]
    CODEC_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    session: SessionKey
    model_id: str
    hops: _containers.RepeatedCompositeFieldContainer[Hop]
    candidates: _containers.RepeatedCompositeFieldContainer[Hop]
    prompt_ids: _containers.RepeatedScalarFieldContainer[int]
    prompt_text: bytes
    max_new_tokens: int
    eos_token_ids: _containers.RepeatedScalarFieldContainer[int]
    ignore_eos: bool
    decoding: Decoding
    codec: str
    progress_timeout_ms: int
    def __init__(self, session: _Optional[_Union[SessionKey, _Mapping]] = ..., model_id: _Optional[str] = ..., hops: _Optional[_Iterable[_Union[Hop, _Mapping]]] = ..., candidates: _Optional[_Iterable[_Union[Hop, _Mapping]]] = ..., prompt_ids: _Optional[_Iterable[int]] = ..., prompt_text: _Optional[bytes] = ..., max_new_tokens: _Optional[int] = ..., eos_token_ids: _Optional[_Iterable[int]] = ..., ignore_eos: bool = ..., decoding: _Optional[_Union[Decoding, _Mapping]] = ..., codec: _Optional[str] = ..., progress_timeout_ms: _Optional[int] = ...) -> None: ...

class GenerateStats(_message.Message):
    __slots__ = ("time_to_first_token_us", "total_us", "wire_bytes", "replacements", "hops", "stopped_at_eos")
    TIME_TO_FIRST_TOKEN_US_FIELD_NUMBER: _ClassVar[int]
    TOTAL_US_FIELD_NUMBER: _ClassVar[int]
    WIRE_BYTES_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENTS_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    STOPPED_AT_EOS_FIELD_NUMBER: _ClassVar[int]
    time_to_first_token_us: int
    total_us: int
    wire_bytes: int
    replacements: int
    hops: _containers.RepeatedCompositeFieldContainer[Hop]
    stopped_at_eos: bool
    def __init__(self, time_to_first_token_us: _Optional[int] = ..., total_us: _Optional[int] = ..., wire_bytes: _Optional[int] = ..., replacements: _Optional[int] = ..., hops: _Optional[_Iterable[_Union[Hop, _Mapping]]] = ..., stopped_at_eos: bool = ...) -> None: ...

class GenerateEvent(_message.Message):
    __slots__ = ("token", "done", "error")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    token: Token
    done: GenerateStats
    error: SessionError
    def __init__(self, token: _Optional[_Union[Token, _Mapping]] = ..., done: _Optional[_Union[GenerateStats, _Mapping]] = ..., error: _Optional[_Union[SessionError, _Mapping]] = ...) -> None: ...

class WatchTokensRequest(_message.Message):
    __slots__ = ("session", "signature", "nonce")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    session: SessionKey
    signature: bytes
    nonce: int
    def __init__(self, session: _Optional[_Union[SessionKey, _Mapping]] = ..., signature: _Optional[bytes] = ..., nonce: _Optional[int] = ...) -> None: ...

class ReceivedFramesRequest(_message.Message):
    __slots__ = ("session", "hop_index")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    HOP_INDEX_FIELD_NUMBER: _ClassVar[int]
    session: SessionKey
    hop_index: int
    def __init__(self, session: _Optional[_Union[SessionKey, _Mapping]] = ..., hop_index: _Optional[int] = ...) -> None: ...

class ReceivedFramesChunk(_message.Message):
    __slots__ = ("total_bytes", "data")
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    total_bytes: int
    data: bytes
    def __init__(self, total_bytes: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...
