from infera.gov.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AppliedUpgrade(_message.Message):
    __slots__ = ("name", "height")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    name: str
    height: int
    def __init__(self, name: _Optional[str] = ..., height: _Optional[int] = ...) -> None: ...

class GenesisState(_message.Message):
    __slots__ = ("params", "starting_proposal_id", "proposals", "deposits", "votes", "plan", "applied")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    STARTING_PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSALS_FIELD_NUMBER: _ClassVar[int]
    DEPOSITS_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    params: _types_pb2.Params
    starting_proposal_id: int
    proposals: _containers.RepeatedCompositeFieldContainer[_types_pb2.Proposal]
    deposits: _containers.RepeatedCompositeFieldContainer[_types_pb2.Deposit]
    votes: _containers.RepeatedCompositeFieldContainer[_types_pb2.Vote]
    plan: _types_pb2.Plan
    applied: _containers.RepeatedCompositeFieldContainer[AppliedUpgrade]
    def __init__(self, params: _Optional[_Union[_types_pb2.Params, _Mapping]] = ..., starting_proposal_id: _Optional[int] = ..., proposals: _Optional[_Iterable[_Union[_types_pb2.Proposal, _Mapping]]] = ..., deposits: _Optional[_Iterable[_Union[_types_pb2.Deposit, _Mapping]]] = ..., votes: _Optional[_Iterable[_Union[_types_pb2.Vote, _Mapping]]] = ..., plan: _Optional[_Union[_types_pb2.Plan, _Mapping]] = ..., applied: _Optional[_Iterable[_Union[AppliedUpgrade, _Mapping]]] = ...) -> None: ...
