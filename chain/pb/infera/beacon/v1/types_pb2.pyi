from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Params(_message.Message):
    __slots__ = ("keep_heights", "prune_per_block", "register_key_gas")
    KEEP_HEIGHTS_FIELD_NUMBER: _ClassVar[int]
    PRUNE_PER_BLOCK_FIELD_NUMBER: _ClassVar[int]
    REGISTER_KEY_GAS_FIELD_NUMBER: _ClassVar[int]
    keep_heights: int
    prune_per_block: int
    register_key_gas: int
    def __init__(self, keep_heights: _Optional[int] = ..., prune_per_block: _Optional[int] = ..., register_key_gas: _Optional[int] = ...) -> None: ...
