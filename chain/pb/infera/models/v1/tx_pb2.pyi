from infera.models.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MsgRegisterModel(_message.Message):
    __slots__ = ("owner", "id", "family", "num_layers", "layer_commitments", "weights_root", "bytes_per_layer", "tokenizer_hash", "dtype", "price_per_token", "min_redundancy", "zk_verifying_key_ref", "config_hash", "embed_commitment", "head_commitment", "precision_classes", "verifier_tolerances")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
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
    CONFIG_HASH_FIELD_NUMBER: _ClassVar[int]
    EMBED_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    HEAD_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    PRECISION_CLASSES_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_TOLERANCES_FIELD_NUMBER: _ClassVar[int]
    owner: str
    id: str
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
    config_hash: bytes
    embed_commitment: bytes
    head_commitment: bytes
    precision_classes: _containers.RepeatedScalarFieldContainer[str]
    verifier_tolerances: _containers.RepeatedCompositeFieldContainer[_types_pb2.ClassTolerance]
    def __init__(self, owner: _Optional[str] = ..., id: _Optional[str] = ..., family: _Optional[str] = ..., num_layers: _Optional[int] = ..., layer_commitments: _Optional[_Iterable[bytes]] = ..., weights_root: _Optional[bytes] = ..., bytes_per_layer: _Optional[int] = ..., tokenizer_hash: _Optional[bytes] = ..., dtype: _Optional[str] = ..., price_per_token: _Optional[str] = ..., min_redundancy: _Optional[int] = ..., zk_verifying_key_ref: _Optional[str] = ..., config_hash: _Optional[bytes] = ..., embed_commitment: _Optional[bytes] = ..., head_commitment: _Optional[bytes] = ..., precision_classes: _Optional[_Iterable[str]] = ..., verifier_tolerances: _Optional[_Iterable[_Union[_types_pb2.ClassTolerance, _Mapping]]] = ...) -> None: ...

class MsgRegisterModelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MsgUpdateModel(_message.Message):
    __slots__ = ("owner", "id", "price_per_token", "min_redundancy")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_PER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MIN_REDUNDANCY_FIELD_NUMBER: _ClassVar[int]
    owner: str
    id: str
    price_per_token: str
    min_redundancy: int
    def __init__(self, owner: _Optional[str] = ..., id: _Optional[str] = ..., price_per_token: _Optional[str] = ..., min_redundancy: _Optional[int] = ...) -> None: ...

class MsgUpdateModelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MsgRetireModel(_message.Message):
    __slots__ = ("owner", "id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    id: str
    def __init__(self, owner: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class MsgRetireModelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
