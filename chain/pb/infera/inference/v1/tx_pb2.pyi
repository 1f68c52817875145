from infera.base.v1 import coin_pb2 as _coin_pb2
from infera.inference.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MsgSubmitJob(_message.Message):
    __slots__ = ("submitter", "model_id", "prompt", "decoding", "max_new_tokens", "redundancy", "max_fee", "deadline_blocks", "precision", "privacy", "prompt_commitment", "sealed_prompt_bytes", "reply_pubkey")
    SUBMITTER_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    DECODING_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    REDUNDANCY_FIELD_NUMBER: _ClassVar[int]
    MAX_FEE_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    PRIVACY_FIELD_NUMBER: _ClassVar[int]
    PROMPT_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    SEALED_PROMPT_BYTES_FIELD_NUMBER: _ClassVar[int]
    REPLY_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    submitter: str
    model_id: str
    prompt: bytes
    decoding: _types_pb2.Decoding
    max_new_tokens: int
    redundancy: int
    max_fee: _coin_pb2.Coin
    deadline_blocks: int
    precision: str
    privacy: _types_pb2.PrivacyMode
    prompt_commitment: bytes
    sealed_prompt_bytes: int
    reply_pubkey: bytes
    def __init__(self, submitter: _Optional[str] = ..., model_id: _Optional[str] = ..., prompt: _Optional[bytes] = ..., decoding: _Optional[_Union[_types_pb2.Decoding, _Mapping]] = ..., max_new_tokens: _Optional[int] = ..., redundancy: _Optional[int] = ..., max_fee: _Optional[_Union[_coin_pb2.Coin, _Mapping]] = ..., deadline_blocks: _Optional[int] = ..., precision: _Optional[str] = ..., privacy: _Optional[_Union[_types_pb2.PrivacyMode, str]] = ..., prompt_commitment: _Optional[bytes] = ..., sealed_prompt_bytes: _Optional[int] = ..., reply_pubkey: _Optional[bytes] = ...) -> None: ...

class MsgSubmitJobResponse(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    def __init__(self, job_id: _Optional[int] = ...) -> None: ...

class MsgCancelJob(_message.Message):
    __slots__ = ("submitter", "job_id")
    SUBMITTER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    submitter: str
    job_id: int
    def __init__(self, submitter: _Optional[str] = ..., job_id: _Optional[int] = ...) -> None: ...

class MsgCancelJobResponse(_message.Message):
    __slots__ = ("refunded",)
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    refunded: str
    def __init__(self, refunded: _Optional[str] = ...) -> None: ...

class MsgSealPrompt(_message.Message):
    __slots__ = ("submitter", "job_id", "routes")
    SUBMITTER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    submitter: str
    job_id: int
    routes: _containers.RepeatedCompositeFieldContainer[_types_pb2.SealedRoute]
    def __init__(self, submitter: _Optional[str] = ..., job_id: _Optional[int] = ..., routes: _Optional[_Iterable[_Union[_types_pb2.SealedRoute, _Mapping]]] = ...) -> None: ...

class MsgSealPromptResponse(_message.Message):
    __slots__ = ("commit_end_height", "reveal_end_height")
    COMMIT_END_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    REVEAL_END_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    commit_end_height: int
    reveal_end_height: int
    def __init__(self, commit_end_height: _Optional[int] = ..., reveal_end_height: _Optional[int] = ...) -> None: ...

class MsgDiscloseSealedJob(_message.Message):
    __slots__ = ("submitter", "job_id", "job_key", "prompt")
    SUBMITTER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_KEY_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    submitter: str
    job_id: int
    job_key: bytes
    prompt: bytes
    def __init__(self, submitter: _Optional[str] = ..., job_id: _Optional[int] = ..., job_key: _Optional[bytes] = ..., prompt: _Optional[bytes] = ...) -> None: ...

class MsgDiscloseSealedJobResponse(_message.Message):
    __slots__ = ("outputs_opened",)
    OUTPUTS_OPENED_FIELD_NUMBER: _ClassVar[int]
    outputs_opened: int
    def __init__(self, outputs_opened: _Optional[int] = ...) -> None: ...
