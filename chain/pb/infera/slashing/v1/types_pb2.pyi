from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Params(_message.Message):
    __slots__ = ("signed_blocks_window", "min_signed_per_window", "downtime_jail_duration_ns", "slash_fraction_downtime")
    SIGNED_BLOCKS_WINDOW_FIELD_NUMBER: _ClassVar[int]
    MIN_SIGNED_PER_WINDOW_FIELD_NUMBER: _ClassVar[int]
    DOWNTIME_JAIL_DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    SLASH_FRACTION_DOWNTIME_FIELD_NUMBER: _ClassVar[int]
    signed_blocks_window: int
    min_signed_per_window: str
    downtime_jail_duration_ns: int
    slash_fraction_downtime: str
    def __init__(self, signed_blocks_window: _Optional[int] = ..., min_signed_per_window: _Optional[str] = ..., downtime_jail_duration_ns: _Optional[int] = ..., slash_fraction_downtime: _Optional[str] = ...) -> None: ...

class ValidatorSigningInfo(_message.Message):
    __slots__ = ("address", "start_height", "index_offset", "jailed_until_ns", "missed_blocks_counter")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    START_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    INDEX_OFFSET_FIELD_NUMBER: _ClassVar[int]
    JAILED_UNTIL_NS_FIELD_NUMBER: _ClassVar[int]
    MISSED_BLOCKS_COUNTER_FIELD_NUMBER: _ClassVar[int]
    address: bytes
    start_height: int
    index_offset: int
    jailed_until_ns: int
    missed_blocks_counter: int
    def __init__(self, address: _Optional[bytes] = ..., start_height: _Optional[int] = ..., index_offset: _Optional[int] = ..., jailed_until_ns: _Optional[int] = ..., missed_blocks_counter: _Optional[int] = ...) -> None: ...
