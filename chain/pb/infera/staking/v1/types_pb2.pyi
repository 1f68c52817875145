from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Validator(_message.Message):
    __slots__ = ("operator_address", "consensus_pubkey", "tokens", "jailed", "moniker", "slashed", "delegator_shares", "commission", "tombstoned")
    OPERATOR_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    JAILED_FIELD_NUMBER: _ClassVar[int]
    MONIKER_FIELD_NUMBER: _ClassVar[int]
    SLASHED_FIELD_NUMBER: _ClassVar[int]
    DELEGATOR_SHARES_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_FIELD_NUMBER: _ClassVar[int]
    TOMBSTONED_FIELD_NUMBER: _ClassVar[int]
    operator_address: str
    consensus_pubkey: bytes
    tokens: str
    jailed: bool
    moniker: str
    slashed: str
    delegator_shares: str
    commission: Commission
    tombstoned: bool
    def __init__(self, operator_address: _Optional[str] = ..., consensus_pubkey: _Optional[bytes] = ..., tokens: _Optional[str] = ..., jailed: bool = ..., moniker: _Optional[str] = ..., slashed: _Optional[str] = ..., delegator_shares: _Optional[str] = ..., commission: _Optional[_Union[Commission, _Mapping]] = ..., tombstoned: bool = ...) -> None: ...

class Commission(_message.Message):
    __slots__ = ("rate", "max_rate", "max_change_rate", "update_time_ns")
    RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_CHANGE_RATE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    rate: str
    max_rate: str
    max_change_rate: str
    update_time_ns: int
    def __init__(self, rate: _Optional[str] = ..., max_rate: _Optional[str] = ..., max_change_rate: _Optional[str] = ..., update_time_ns: _Optional[int] = ...) -> None: ...

class Delegation(_message.Message):
    __slots__ = ("delegator_address", "validator_address", "shares")
    DELEGATOR_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VALIDATOR_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    delegator_address: str
    validator_address: str
    shares: str
    def __init__(self, delegator_address: _Optional[str] = ..., validator_address: _Optional[str] = ..., shares: _Optional[str] = ...) -> None: ...

class UnbondingEntry(_message.Message):
    __slots__ = ("creation_height", "completion_time_ns", "initial_balance", "balance")
    CREATION_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_BALANCE_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    creation_height: int
    completion_time_ns: int
    initial_balance: str
    balance: str
    def __init__(self, creation_height: _Optional[int] = ..., completion_time_ns: _Optional[int] = ..., initial_balance: _Optional[str] = ..., balance: _Optional[str] = ...) -> None: ...

class UnbondingDelegation(_message.Message):
    __slots__ = ("delegator_address", "validator_address", "entries")
    DELEGATOR_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VALIDATOR_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    delegator_address: str
    validator_address: str
    entries: _containers.RepeatedCompositeFieldContainer[UnbondingEntry]
    def __init__(self, delegator_address: _Optional[str] = ..., validator_address: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[UnbondingEntry, _Mapping]]] = ...) -> None: ...

class RedelegationEntry(_message.Message):
    __slots__ = ("creation_height", "completion_time_ns", "initial_balance", "shares_dst")
    CREATION_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_BALANCE_FIELD_NUMBER: _ClassVar[int]
    SHARES_DST_FIELD_NUMBER: _ClassVar[int]
    creation_height: int
    completion_time_ns: int
    initial_balance: str
    shares_dst: str
    def __init__(self, creation_height: _Optional[int] = ..., completion_time_ns: _Optional[int] = ..., initial_balance: _Optional[str] = ..., shares_dst: _Optional[str] = ...) -> None: ...

class Redelegation(_message.Message):
    __slots__ = ("delegator_address", "validator_src_address", "validator_dst_address", "entries")
    DELEGATOR_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VALIDATOR_SRC_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VALIDATOR_DST_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    delegator_address: str
    validator_src_address: str
    validator_dst_address: str
    entries: _containers.RepeatedCompositeFieldContainer[RedelegationEntry]
    def __init__(self, delegator_address: _Optional[str] = ..., validator_src_address: _Optional[str] = ..., validator_dst_address: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[RedelegationEntry, _Mapping]]] = ...) -> None: ...

class Params(_message.Message):
    __slots__ = ("bond_denom", "max_validators", "min_self_bond", "power_reduction", "slash_fraction_double_sign", "unbonding_time_ns", "max_entries")
    BOND_DENOM_FIELD_NUMBER: _ClassVar[int]
    MAX_VALIDATORS_FIELD_NUMBER: _ClassVar[int]
    MIN_SELF_BOND_FIELD_NUMBER: _ClassVar[int]
    POWER_REDUCTION_FIELD_NUMBER: _ClassVar[int]
    SLASH_FRACTION_DOUBLE_SIGN_FIELD_NUMBER: _ClassVar[int]
    UNBONDING_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    MAX_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    bond_denom: str
    max_validators: int
    min_self_bond: str
    power_reduction: int
    slash_fraction_double_sign: str
    unbonding_time_ns: int
    max_entries: int
    def __init__(self, bond_denom: _Optional[str] = ..., max_validators: _Optional[int] = ..., min_self_bond: _Optional[str] = ..., power_reduction: _Optional[int] = ..., slash_fraction_double_sign: _Optional[str] = ..., unbonding_time_ns: _Optional[int] = ..., max_entries: _Optional[int] = ...) -> None: ...
