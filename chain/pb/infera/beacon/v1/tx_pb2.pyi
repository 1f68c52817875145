from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class MsgRegisterBlsKey(_message.Message):
    __slots__ = ("operator", "bls_pubkey", "proof_of_possession")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    BLS_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    PROOF_OF_POSSESSION_FIELD_NUMBER: _ClassVar[int]
    operator: str
    bls_pubkey: bytes
    proof_of_possession: bytes
    def __init__(self, operator: _Optional[str] = ..., bls_pubkey: _Optional[bytes] = ..., proof_of_possession: _Optional[bytes] = ...) -> None: ...

class MsgRegisterBlsKeyResponse(_message.Message):
    __slots__ = ("consensus_address",)
    CONSENSUS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    consensus_address: bytes
    def __init__(self, consensus_address: _Optional[bytes] = ...) -> None: ...
