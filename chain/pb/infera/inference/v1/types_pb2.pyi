from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_SUBMITTED: _ClassVar[JobState]
    JOB_STATE_ASSIGNED: _ClassVar[JobState]
    JOB_STATE_COMMITTING: _ClassVar[JobState]
    JOB_STATE_REVEALING: _ClassVar[JobState]
    JOB_STATE_FINALIZED: _ClassVar[JobState]
    JOB_STATE_DISPUTED: _ClassVar[JobState]
    JOB_STATE_EXPIRED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class DecodingMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECODING_MODE_UNSPECIFIED: _ClassVar[DecodingMode]
    DECODING_MODE_GREEDY: _ClassVar[DecodingMode]
    DECODING_MODE_SAMPLING: _ClassVar[DecodingMode]

class PrivacyMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIVACY_MODE_PUBLIC: _ClassVar[PrivacyMode]
    PRIVACY_MODE_SEALED: _ClassVar[PrivacyMode]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_SUBMITTED: JobState
JOB_STATE_ASSIGNED: JobState
JOB_STATE_COMMITTING: JobState
JOB_STATE_REVEALING: JobState
JOB_STATE_FINALIZED: JobState
JOB_STATE_DISPUTED: JobState
JOB_STATE_EXPIRED: JobState
JOB_STATE_CANCELLED: JobState
DECODING_MODE_UNSPECIFIED: DecodingMode
DECODING_MODE_GREEDY: DecodingMode
DECODING_MODE_SAMPLING: DecodingMode
PRIVACY_MODE_PUBLIC: PrivacyMode
PRIVACY_MODE_SEALED: PrivacyMode

class Decoding(_message.Message):
    __slots__ = ("mode", "temperature_milli", "top_k")
    MODE_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_MILLI_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    mode: DecodingMode
    temperature_milli: int
    top_k: int
    def __init__(self, mode: _Optional[_Union[DecodingMode, str]] = ..., temperature_milli: _Optional[int] = ..., top_k: _Optional[int] = ...) -> None: ...

class Hop(_message.Message):
    __slots__ = ("worker", "layer_start", "layer_end", "endpoint")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    LAYER_START_FIELD_NUMBER: _ClassVar[int]
    LAYER_END_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    worker: str
    layer_start: int
    layer_end: int
    endpoint: str
    def __init__(self, worker: _Optional[str] = ..., layer_start: _Optional[int] = ..., layer_end: _Optional[int] = ..., endpoint: _Optional[str] = ...) -> None: ...

class Route(_message.Message):
    __slots__ = ("hops",)
    HOPS_FIELD_NUMBER: _ClassVar[int]
    hops: _containers.RepeatedCompositeFieldContainer[Hop]
    def __init__(self, hops: _Optional[_Iterable[_Union[Hop, _Mapping]]] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "submitter", "model_id", "prompt", "decoding", "max_new_tokens", "redundancy", "max_fee", "escrow", "state", "submit_height", "deadline_height", "assign_height", "seed", "routes", "commit_end_height", "reveal_end_height", "reason", "output_hash", "final_height", "price_per_token", "num_layers", "prompt_tokens_estimate", "refunded", "commit_window_blocks", "reveal_window_blocks", "precision", "requested_precision", "privacy", "sealed")
    ID_FIELD_NUMBER: _ClassVar[int]
    SUBMITTER_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    DECODING_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    REDUNDANCY_FIELD_NUMBER: _ClassVar[int]
    MAX_FEE_FIELD_NUMBER: _ClassVar[int]
    ESCROW_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ASSIGN_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    COMMIT_END_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    REVEAL_END_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    FINAL_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PRICE_PER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NUM_LAYERS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    COMMIT_WINDOW_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    REVEAL_WINDOW_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_PRECISION_FIELD_NUMBER: _ClassVar[int]
    PRIVACY_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    id: int
    submitter: str
    model_id: str
    prompt: bytes
    decoding: Decoding
    max_new_tokens: int
    redundancy: int
    max_fee: str
    escrow: str
    state: JobState
    submit_height: int
    deadline_height: int
    assign_height: int
    seed: bytes
    routes: _containers.RepeatedCompositeFieldContainer[Route]
    commit_end_height: int
    reveal_end_height: int
    reason: str
    output_hash: bytes
    final_height: int
    price_per_token: str
    num_layers: int
    prompt_tokens_estimate: int
    refunded: str
    commit_window_blocks: int
    reveal_window_blocks: int
    precision: str
    requested_precision: str
    privacy: PrivacyMode
    sealed: SealedJob
    def __init__(self, id: _Optional[int] = ..., submitter: _Optional[str] = ..., model_id: _Optional[str] = ..., prompt: _Optional[bytes] = ..., decoding: _Optional[_Union[Decoding, _Mapping]] = ..., max_new_tokens: _Optional[int] = ..., redundancy: _Optional[int] = ..., max_fee: _Optional[str] = ..., escrow: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., submit_height: _Optional[int] = ..., deadline_height: _Optional[int] = ..., assign_height: _Optional[int] = ..., seed: _Optional[bytes] = ..., routes: _Optional[_Iterable[_Union[Route, _Mapping]]] = ..., commit_end_height: _Optional[int] = ..., reveal_end_height: _Optional[int] = ..., reason: _Optional[str] = ..., output_hash: _Optional[bytes] = ..., final_height: _Optional[int] = ..., price_per_token: _Optional[str] = ..., num_layers: _Optional[int] = ..., prompt_tokens_estimate: _Optional[int] = ..., refunded: _Optional[str] = ..., commit_window_blocks: _Optional[int] = ..., reveal_window_blocks: _Optional[int] = ..., precision: _Optional[str] = ..., requested_precision: _Optional[str] = ..., privacy: _Optional[_Union[PrivacyMode, str]] = ..., sealed: _Optional[_Union[SealedJob, _Mapping]] = ...) -> None: ...

class SealedJob(_message.Message):
    __slots__ = ("prompt_commitment", "prompt_bytes", "reply_pubkey", "seal_end_height", "sealed_height", "disclosed_job_key", "disclosed_height", "contested")
    PROMPT_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_BYTES_FIELD_NUMBER: _ClassVar[int]
    REPLY_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    SEAL_END_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SEALED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DISCLOSED_JOB_KEY_FIELD_NUMBER: _ClassVar[int]
    DISCLOSED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CONTESTED_FIELD_NUMBER: _ClassVar[int]
    prompt_commitment: bytes
    prompt_bytes: int
    reply_pubkey: bytes
    seal_end_height: int
    sealed_height: int
    disclosed_job_key: bytes
    disclosed_height: int
    contested: _containers.RepeatedCompositeFieldContainer[HopRef]
    def __init__(self, prompt_commitment: _Optional[bytes] = ..., prompt_bytes: _Optional[int] = ..., reply_pubkey: _Optional[bytes] = ..., seal_end_height: _Optional[int] = ..., sealed_height: _Optional[int] = ..., disclosed_job_key: _Optional[bytes] = ..., disclosed_height: _Optional[int] = ..., contested: _Optional[_Iterable[_Union[HopRef, _Mapping]]] = ...) -> None: ...

class HopRef(_message.Message):
    __slots__ = ("route", "hop")
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    HOP_FIELD_NUMBER: _ClassVar[int]
    route: int
    hop: int
    def __init__(self, route: _Optional[int] = ..., hop: _Optional[int] = ...) -> None: ...

class SealedRoute(_message.Message):
    __slots__ = ("boxes", "recipients")
    BOXES_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    boxes: _containers.RepeatedScalarFieldContainer[bytes]
    recipients: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, boxes: _Optional[_Iterable[bytes]] = ..., recipients: _Optional[_Iterable[bytes]] = ...) -> None: ...

class JobSeals(_message.Message):
    __slots__ = ("job_id", "routes")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    routes: _containers.RepeatedCompositeFieldContainer[SealedRoute]
    def __init__(self, job_id: _Optional[int] = ..., routes: _Optional[_Iterable[_Union[SealedRoute, _Mapping]]] = ...) -> None: ...

class Params(_message.Message):
    __slots__ = ("fee_denom", "max_prompt_bytes", "max_new_tokens", "max_redundancy", "min_deadline_blocks", "max_deadline_blocks", "max_temperature_milli", "max_top_k", "max_assignments_per_block", "max_expiries_per_block", "seal_window_blocks")
    FEE_DENOM_FIELD_NUMBER: _ClassVar[int]
    MAX_PROMPT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_REDUNDANCY_FIELD_NUMBER: _ClassVar[int]
    MIN_DEADLINE_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    MAX_DEADLINE_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    MAX_TEMPERATURE_MILLI_FIELD_NUMBER: _ClassVar[int]
    MAX_TOP_K_FIELD_NUMBER: _ClassVar[int]
    MAX_ASSIGNMENTS_PER_BLOCK_FIELD_NUMBER: _ClassVar[int]
    MAX_EXPIRIES_PER_BLOCK_FIELD_NUMBER: _ClassVar[int]
    SEAL_WINDOW_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    fee_denom: str
    max_prompt_bytes: int
    max_new_tokens: int
    max_redundancy: int
    min_deadline_blocks: int
    max_deadline_blocks: int
    max_temperature_milli: int
    max_top_k: int
    max_assignments_per_block: int
    max_expiries_per_block: int
    seal_window_blocks: int
    def __init__(self, fee_denom: _Optional[str] = ..., max_prompt_bytes: _Optional[int] = ..., max_new_tokens: _Optional[int] = ..., max_redundancy: _Optional[int] = ..., min_deadline_blocks: _Optional[int] = ..., max_deadline_blocks: _Optional[int] = ..., max_temperature_milli: _Optional[int] = ..., max_top_k: _Optional[int] = ..., max_assignments_per_block: _Optional[int] = ..., max_expiries_per_block: _Optional[int] = ..., seal_window_blocks: _Optional[int] = ...) -> None: ...
