from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class QueryProvenRequest(_message.Message):
    __slots__ = ("key", "height")
    KEY_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    height: int
    def __init__(self, key: _Optional[bytes] = ..., height: _Optional[int] = ...) -> None: ...

class QueryProvenResponse(_message.Message):
    __slots__ = ("value", "exists", "proof", "height")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    value: bytes
    exists: bool
    proof: bytes
    height: int
    def __init__(self, value: _Optional[bytes] = ..., exists: bool = ..., proof: _Optional[bytes] = ..., height: _Optional[int] = ...) -> None: ...
