from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Params(_message.Message):
    __slots__ = ("community_tax", "denom")
    COMMUNITY_TAX_FIELD_NUMBER: _ClassVar[int]
    DENOM_FIELD_NUMBER: _ClassVar[int]
    community_tax: str
    denom: str
    def __init__(self, community_tax: _Optional[str] = ..., denom: _Optional[str] = ...) -> None: ...

class ValidatorCurrentRewards(_message.Message):
    __slots__ = ("period", "rewards")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    period: int
    rewards: str
    def __init__(self, period: _Optional[int] = ..., rewards: _Optional[str] = ...) -> None: ...

class ValidatorHistoricalRewards(_message.Message):
    __slots__ = ("cumulative_ratio", "reference_count")
    CUMULATIVE_RATIO_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    cumulative_ratio: str
    reference_count: int
    def __init__(self, cumulative_ratio: _Optional[str] = ..., reference_count: _Optional[int] = ...) -> None: ...

class DelegatorStartingInfo(_message.Message):
    __slots__ = ("previous_period", "shares", "height")
    PREVIOUS_PERIOD_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    previous_period: int
    shares: str
    height: int
    def __init__(self, previous_period: _Optional[int] = ..., shares: _Optional[str] = ..., height: _Optional[int] = ...) -> None: ...
