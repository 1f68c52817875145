from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WeightsMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEIGHTS_MODE_BAKED: _ClassVar[WeightsMode]
    WEIGHTS_MODE_PRIVATE: _ClassVar[WeightsMode]

class ProofStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROOF_STATUS_UNSPECIFIED: _ClassVar[ProofStatus]
    PROOF_STATUS_PENDING: _ClassVar[ProofStatus]
    PROOF_STATUS_VERIFIED: _ClassVar[ProofStatus]
    PROOF_STATUS_REJECTED: _ClassVar[ProofStatus]
WEIGHTS_MODE_BAKED: WeightsMode
WEIGHTS_MODE_PRIVATE: WeightsMode
PROOF_STATUS_UNSPECIFIED: ProofStatus
PROOF_STATUS_PENDING: ProofStatus
PROOF_STATUS_VERIFIED: ProofStatus
PROOF_STATUS_REJECTED: ProofStatus

class VerifyingKey(_message.Message):
    __slots__ = ("id", "owner", "model_id", "key", "num_public", "dev_setup", "height", "weights", "weights_commitment")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    NUM_PUBLIC_FIELD_NUMBER: _ClassVar[int]
    DEV_SETUP_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner: str
    model_id: str
    key: bytes
    num_public: int
    dev_setup: bool
    height: int
    weights: WeightsMode
    weights_commitment: bytes
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., model_id: _Optional[str] = ..., key: _Optional[bytes] = ..., num_public: _Optional[int] = ..., dev_setup: bool = ..., height: _Optional[int] = ..., weights: _Optional[_Union[WeightsMode, str]] = ..., weights_commitment: _Optional[bytes] = ...) -> None: ...

class ProofRecord(_message.Message):
    __slots__ = ("job_id", "prover", "key_id", "proof", "public_inputs", "status", "code", "height", "paid")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PROVER_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_INPUTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PAID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    prover: str
    key_id: str
    proof: bytes
    public_inputs: bytes
    status: ProofStatus
    code: int
    height: int
    paid: str
    def __init__(self, job_id: _Optional[int] = ..., prover: _Optional[str] = ..., key_id: _Optional[str] = ..., proof: _Optional[bytes] = ..., public_inputs: _Optional[bytes] = ..., status: _Optional[_Union[ProofStatus, str]] = ..., code: _Optional[int] = ..., height: _Optional[int] = ..., paid: _Optional[str] = ...) -> None: ...

class Params(_message.Message):
    __slots__ = ("max_proofs_per_block", "verify_gas", "key_gas_per_byte", "max_public_inputs", "refuse_dev_keys", "max_miller_loops_per_block")
    MAX_PROOFS_PER_BLOCK_FIELD_NUMBER: _ClassVar[int]
    VERIFY_GAS_FIELD_NUMBER: _ClassVar[int]
    KEY_GAS_PER_BYTE_FIELD_NUMBER: _ClassVar[int]
    MAX_PUBLIC_INPUTS_FIELD_NUMBER: _ClassVar[int]
    REFUSE_DEV_KEYS_FIELD_NUMBER: _ClassVar[int]
    MAX_MILLER_LOOPS_PER_BLOCK_FIELD_NUMBER: _ClassVar[int]
    max_proofs_per_block: int
    verify_gas: int
    key_gas_per_byte: int
    max_public_inputs: int
    refuse_dev_keys: bool
    max_miller_loops_per_block: int
    def __init__(self, max_proofs_per_block: _Optional[int] = ..., verify_gas: _Optional[int] = ..., key_gas_per_byte: _Optional[int] = ..., max_public_inputs: _Optional[int] = ..., refuse_dev_keys: bool = ..., max_miller_loops_per_block: _Optional[int] = ...) -> None: ...
