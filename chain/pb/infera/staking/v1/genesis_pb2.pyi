from infera.staking.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GenesisState(_message.Message):
    __slots__ = ("params", "validators", "delegations", "unbonding_delegations", "redelegations")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    VALIDATORS_FIELD_NUMBER: _ClassVar[int]
    DELEGATIONS_FIELD_NUMBER: _ClassVar[int]
    UNBONDING_DELEGATIONS_FIELD_NUMBER: _ClassVar[int]
    REDELEGATIONS_FIELD_NUMBER: _ClassVar[int]
    params: _types_pb2.Params
    validators: _containers.RepeatedCompositeFieldContainer[_types_pb2.Validator]
    delegations: _containers.RepeatedCompositeFieldContainer[_types_pb2.Delegation]
    unbonding_delegations: _containers.RepeatedCompositeFieldContainer[_types_pb2.UnbondingDelegation]
    redelegations: _containers.RepeatedCompositeFieldContainer[_types_pb2.Redelegation]
    def __init__(self, params: _Optional[_Union[_types_pb2.Params, _Mapping]] = ..., validators: _Optional[_Iterable[_Union[_types_pb2.Validator, _Mapping]]] = ..., delegations: _Optional[_Iterable[_Union[_types_pb2.Delegation, _Mapping]]] = ..., unbonding_delegations: _Optional[_Iterable[_Union[_types_pb2.UnbondingDelegation, _Mapping]]] = ..., redelegations: _Optional[_Iterable[_Union[_types_pb2.Redelegation, _Mapping]]] = ...) -> None: ...
