from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Model(_message.Message):
    __slots__ = ("id", "owner", "family", "num_layers", "layer_commitments", "weights_root", "bytes_per_layer", "tokenizer_hash", "dtype", "price_per_token", "min_redundancy", "zk_verifying_key_ref", "retired", "registered_height", "retired_height", "config_hash", "embed_commitment", "head_commitment", "precision_classes", "verifier_tolerances")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    NUM_LAYERS_FIELD_NUMBER: _ClassVar[int]
    LAYER_COMMITMENTS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_ROOT_FIELD_NUMBER: _ClassVar[int]
    BYTES_PER_LAYER_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_HASH_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    PRICE_PER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MIN_REDUNDANCY_FIELD_NUMBER: _ClassVar[int]
    ZK_VERIFYING_KEY_REF_FIELD_NUMBER: _ClassVar[int]
    RETIRED_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RETIRED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CONFIG_HASH_FIELD_NUMBER: _ClassVar[int]
    EMBED_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    HEAD_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    PRECISION_CLASSES_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_TOLERANCES_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner: str
    family: str
    num_layers: int
    layer_commitments: _containers.RepeatedScalarFieldContainer[bytes]
    weights_root: bytes
    bytes_per_layer: int
    tokenizer_hash: bytes
    dtype: str
    price_per_token: str
    min_redundancy: int
    zk_verifying_key_ref: str
    retired: bool
    registered_height: int
    retired_height: int
    config_hash: bytes
    embed_commitment: bytes
    head_commitment: bytes
    precision_classes: _containers.RepeatedScalarFieldContainer[str]
    verifier_tolerances: _containers.RepeatedCompositeFieldContainer[ClassTolerance]
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., family: _Optional[str] = ..., num_layers: _Optional[int] = ..., layer_commitments: _Optional[_Iterable[bytes]] = ..., weights_root: _Optional[bytes] = ..., bytes_per_layer: _Optional[int] = ..., tokenizer_hash: _Optional[bytes] = ..., dtype: _Optional[str] = ..., price_per_token: _Optional[str] = ..., min_redundancy: _Optional[int] = ..., zk_verifying_key_ref: _Optional[str] = ..., retired: bool = ..., registered_height: _Optional[int] = ..., retired_height: _Optional[int] = ..., config_hash: _Optional[bytes] = ..., embed_commitment: _Optional[bytes] = ..., head_commitment: _Optional[bytes] = ..., precision_classes: _Optional[_Iterable[str]] = ..., verifier_tolerances: _Optional[_Iterable[_Union[ClassTolerance, _Mapping]]] = ...) -> None: ...

class ClassTolerance(_message.Message):
    __slots__ = ("dtype", "fingerprint_ppm", "noise_ppm")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_PPM_FIELD_NUMBER: _ClassVar[int]
    NOISE_PPM_FIELD_NUMBER: _ClassVar[int]
    dtype: str
    fingerprint_ppm: int
    noise_ppm: int
    def __init__(self, dtype: _Optional[str] = ..., fingerprint_ppm: _Optional[int] = ..., noise_ppm: _Optional[int] = ...) -> None: ...

class Params(_message.Message):
    __slots__ = ("max_layers", "max_min_redundancy")
    MAX_LAYERS_FIELD_NUMBER: _ClassVar[int]
    MAX_MIN_REDUNDANCY_FIELD_NUMBER: _ClassVar[int]
    max_layers: int
    max_min_redundancy: int
    def __init__(self, max_layers: _Optional[int] = ..., max_min_redundancy: _Optional[int] = ...) -> None: ...
