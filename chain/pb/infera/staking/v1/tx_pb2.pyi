from infera.base.v1 import coin_pb2 as _coin_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MsgCreateValidator(_message.Message):
    __slots__ = ("operator_address", "consensus_pubkey", "self_bond", "moniker")
    OPERATOR_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    SELF_BOND_FIELD_NUMBER: _ClassVar[int]
    MONIKER_FIELD_NUMBER: _ClassVar[int]
    operator_address: str
    consensus_pubkey: bytes
    self_bond: _coin_pb2.Coin
    moniker: str
    def __init__(self, operator_address: _Optional[str] = ..., consensus_pubkey: _Optional[bytes] = ..., self_bond: _Optional[_Union[_coin_pb2.Coin, _Mapping]] = ..., moniker: _Optional[str] = ...) -> None: ...

class MsgCreateValidatorResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
