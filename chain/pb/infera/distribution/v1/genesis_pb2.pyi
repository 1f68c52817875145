from infera.distribution.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GenesisState(_message.Message):
    __slots__ = ("params", "community_pool", "validators", "starting_infos")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    COMMUNITY_POOL_FIELD_NUMBER: _ClassVar[int]
    VALIDATORS_FIELD_NUMBER: _ClassVar[int]
    STARTING_INFOS_FIELD_NUMBER: _ClassVar[int]
    params: _types_pb2.Params
    community_pool: str
    validators: _containers.RepeatedCompositeFieldContainer[ValidatorRewardsRecord]
    starting_infos: _containers.RepeatedCompositeFieldContainer[DelegatorStartingRecord]
    def __init__(self, params: _Optional[_Union[_types_pb2.Params, _Mapping]] = ..., community_pool: _Optional[str] = ..., validators: _Optional[_Iterable[_Union[ValidatorRewardsRecord, _Mapping]]] = ..., starting_infos: _Optional[_Iterable[_Union[DelegatorStartingRecord, _Mapping]]] = ...) -> None: ...

class ValidatorRewardsRecord(_message.Message):
    __slots__ = ("validator_address", "current", "commission", "outstanding", "historical")
    VALIDATOR_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    HISTORICAL_FIELD_NUMBER: _ClassVar[int]
    validator_address: str
    current: _types_pb2.ValidatorCurrentRewards
    commission: str
    outstanding: str
    historical: _containers.RepeatedCompositeFieldContainer[HistoricalRecord]
    def __init__(self, validator_address: _Optional[str] = ..., current: _Optional[_Union[_types_pb2.ValidatorCurrentRewards, _Mapping]] = ..., commission: _Optional[str] = ..., outstanding: _Optional[str] = ..., historical: _Optional[_Iterable[_Union[HistoricalRecord, _Mapping]]] = ...) -> None: ...

class HistoricalRecord(_message.Message):
    __slots__ = ("period", "rewards")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    period: int
    rewards: _types_pb2.ValidatorHistoricalRewards
    def __init__(self, period: _Optional[int] = ..., rewards: _Optional[_Union[_types_pb2.ValidatorHistoricalRewards, _Mapping]] = ...) -> None: ...

class DelegatorStartingRecord(_message.Message):
    __slots__ = ("delegator_address", "validator_address", "info")
    DELEGATOR_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VALIDATOR_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    delegator_address: str
    validator_address: str
    info: _types_pb2.DelegatorStartingInfo
    def __init__(self, delegator_address: _Optional[str] = ..., validator_address: _Optional[str] = ..., info: _Optional[_Union[_types_pb2.DelegatorStartingInfo, _Mapping]] = ...) -> None: ...
