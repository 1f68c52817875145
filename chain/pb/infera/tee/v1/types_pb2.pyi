from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TeeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEE_TYPE_UNSPECIFIED: _ClassVar[TeeType]
    TEE_TYPE_INTEL_TDX: _ClassVar[TeeType]
    TEE_TYPE_INTEL_SGX: _ClassVar[TeeType]
    TEE_TYPE_AMD_SEV_SNP: _ClassVar[TeeType]
    TEE_TYPE_NVIDIA_CC: _ClassVar[TeeType]
    TEE_TYPE_INSECURE_TEST: _ClassVar[TeeType]
TEE_TYPE_UNSPECIFIED: TeeType
TEE_TYPE_INTEL_TDX: TeeType
TEE_TYPE_INTEL_SGX: TeeType
TEE_TYPE_AMD_SEV_SNP: TeeType
TEE_TYPE_NVIDIA_CC: TeeType
TEE_TYPE_INSECURE_TEST: TeeType

class Attestation(_message.Message):
    __slots__ = ("operator", "tee_type", "verifier", "verifier_version", "tcb_status", "advisories", "measurement", "report_data", "epoch", "encryption_pubkey", "height", "expires_height", "expires_time")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    TEE_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_VERSION_FIELD_NUMBER: _ClassVar[int]
    TCB_STATUS_FIELD_NUMBER: _ClassVar[int]
    ADVISORIES_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENT_FIELD_NUMBER: _ClassVar[int]
    REPORT_DATA_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_TIME_FIELD_NUMBER: _ClassVar[int]
    operator: str
    tee_type: TeeType
    verifier: str
    verifier_version: str
    tcb_status: str
    advisories: _containers.RepeatedScalarFieldContainer[str]
    measurement: bytes
    report_data: bytes
    epoch: int
    encryption_pubkey: bytes
    height: int
    expires_height: int
    expires_time: int
    def __init__(self, operator: _Optional[str] = ..., tee_type: _Optional[_Union[TeeType, str]] = ..., verifier: _Optional[str] = ..., verifier_version: _Optional[str] = ..., tcb_status: _Optional[str] = ..., advisories: _Optional[_Iterable[str]] = ..., measurement: _Optional[bytes] = ..., report_data: _Optional[bytes] = ..., epoch: _Optional[int] = ..., encryption_pubkey: _Optional[bytes] = ..., height: _Optional[int] = ..., expires_height: _Optional[int] = ..., expires_time: _Optional[int] = ...) -> None: ...

class ModelRequirement(_message.Message):
    __slots__ = ("model_id", "tee_types", "measurements")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    TEE_TYPES_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENTS_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    tee_types: _containers.RepeatedScalarFieldContainer[TeeType]
    measurements: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model_id: _Optional[str] = ..., tee_types: _Optional[_Iterable[_Union[TeeType, str]]] = ..., measurements: _Optional[_Iterable[str]] = ...) -> None: ...

class Params(_message.Message):
    __slots__ = ("allowed_types", "allowed_intel_tcb_statuses", "refused_intel_advisories", "min_snp_bootloader", "min_snp_tee", "min_snp_snp", "min_snp_microcode", "measurements", "epoch_blocks", "validity_epochs", "gas_intel", "gas_snp", "gas_nvidia", "gas_insecure_test", "gas_per_byte", "max_report_bytes", "max_collateral_bytes", "max_cert_chain_bytes", "test_network")
    ALLOWED_TYPES_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_INTEL_TCB_STATUSES_FIELD_NUMBER: _ClassVar[int]
    REFUSED_INTEL_ADVISORIES_FIELD_NUMBER: _ClassVar[int]
    MIN_SNP_BOOTLOADER_FIELD_NUMBER: _ClassVar[int]
    MIN_SNP_TEE_FIELD_NUMBER: _ClassVar[int]
    MIN_SNP_SNP_FIELD_NUMBER: _ClassVar[int]
    MIN_SNP_MICROCODE_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENTS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    VALIDITY_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    GAS_INTEL_FIELD_NUMBER: _ClassVar[int]
    GAS_SNP_FIELD_NUMBER: _ClassVar[int]
    GAS_NVIDIA_FIELD_NUMBER: _ClassVar[int]
    GAS_INSECURE_TEST_FIELD_NUMBER: _ClassVar[int]
    GAS_PER_BYTE_FIELD_NUMBER: _ClassVar[int]
    MAX_REPORT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_COLLATERAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_CERT_CHAIN_BYTES_FIELD_NUMBER: _ClassVar[int]
    TEST_NETWORK_FIELD_NUMBER: _ClassVar[int]
    allowed_types: _containers.RepeatedScalarFieldContainer[TeeType]
    allowed_intel_tcb_statuses: _containers.RepeatedScalarFieldContainer[str]
    refused_intel_advisories: _containers.RepeatedScalarFieldContainer[str]
    min_snp_bootloader: int
    min_snp_tee: int
    min_snp_snp: int
    min_snp_microcode: int
    measurements: _containers.RepeatedScalarFieldContainer[str]
    epoch_blocks: int
    validity_epochs: int
    gas_intel: int
    gas_snp: int
    gas_nvidia: int
    gas_insecure_test: int
    gas_per_byte: int
    max_report_bytes: int
    max_collateral_bytes: int
    max_cert_chain_bytes: int
    test_network: bool
    def __init__(self, allowed_types: _Optional[_Iterable[_Union[TeeType, str]]] = ..., allowed_intel_tcb_statuses: _Optional[_Iterable[str]] = ..., refused_intel_advisories: _Optional[_Iterable[str]] = ..., min_snp_bootloader: _Optional[int] = ..., min_snp_tee: _Optional[int] = ..., min_snp_snp: _Optional[int] = ..., min_snp_microcode: _Optional[int] = ..., measurements: _Optional[_Iterable[str]] = ..., epoch_blocks: _Optional[int] = ..., validity_epochs: _Optional[int] = ..., gas_intel: _Optional[int] = ..., gas_snp: _Optional[int] = ..., gas_nvidia: _Optional[int] = ..., gas_insecure_test: _Optional[int] = ..., gas_per_byte: _Optional[int] = ..., max_report_bytes: _Optional[int] = ..., max_collateral_bytes: _Optional[int] = ..., max_cert_chain_bytes: _Optional[int] = ..., test_network: bool = ...) -> None: ...
