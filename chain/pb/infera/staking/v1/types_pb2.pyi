from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Validator(_message.Message):
    __slots__ = ("operator_address", "consensus_pubkey", "tokens", "jailed", "moniker", "slashed")
    OPERATOR_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    JAILED_FIELD_NUMBER: _ClassVar[int]
    MONIKER_FIELD_NUMBER: _ClassVar[int]
    SLASHED_FIELD_NUMBER: _ClassVar[int]
    operator_address: str
    consensus_pubkey: bytes
    tokens: str
    jailed: bool
    moniker: str
    slashed: str
    def __init__(self, operator_address: _Optional[str] = ..., consensus_pubkey: _Optional[bytes] = ..., tokens: _Optional[str] = ..., jailed: bool = ..., moniker: _Optional[str] = ..., slashed: _Optional[str] = ...) -> None: ...

class Params(_message.Message):
    __slots__ = ("bond_denom", "max_validators", "min_self_bond", "power_reduction", "slash_fraction_double_sign")
    BOND_DENOM_FIELD_NUMBER: _ClassVar[int]
    MAX_VALIDATORS_FIELD_NUMBER: _ClassVar[int]
    MIN_SELF_BOND_FIELD_NUMBER: _ClassVar[int]
    POWER_REDUCTION_FIELD_NUMBER: _ClassVar[int]
    SLASH_FRACTION_DOUBLE_SIGN_FIELD_NUMBER: _ClassVar[int]
    bond_denom: str
    max_validators: int
    min_self_bond: str
    power_reduction: int
    slash_fraction_double_sign: str
    def __init__(self, bond_denom: _Optional[str] = ..., max_validators: _Optional[int] = ..., min_self_bond: _Optional[str] = ..., power_reduction: _Optional[int] = ..., slash_fraction_double_sign: _Optional[str] = ...) -> None: ...
