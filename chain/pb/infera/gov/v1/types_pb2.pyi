from google.protobuf import any_pb2 as _any_pb2
from infera.base.v1 import coin_pb2 as _coin_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VoteOption(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOTE_OPTION_UNSPECIFIED: _ClassVar[VoteOption]
    VOTE_OPTION_YES: _ClassVar[VoteOption]
    VOTE_OPTION_ABSTAIN: _ClassVar[VoteOption]
    VOTE_OPTION_NO: _ClassVar[VoteOption]
    VOTE_OPTION_NO_WITH_VETO: _ClassVar[VoteOption]

class ProposalStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROPOSAL_STATUS_UNSPECIFIED: _ClassVar[ProposalStatus]
    PROPOSAL_STATUS_DEPOSIT_PERIOD: _ClassVar[ProposalStatus]
    PROPOSAL_STATUS_VOTING_PERIOD: _ClassVar[ProposalStatus]
    PROPOSAL_STATUS_PASSED: _ClassVar[ProposalStatus]
    PROPOSAL_STATUS_REJECTED: _ClassVar[ProposalStatus]
    PROPOSAL_STATUS_FAILED: _ClassVar[ProposalStatus]
VOTE_OPTION_UNSPECIFIED: VoteOption
VOTE_OPTION_YES: VoteOption
VOTE_OPTION_ABSTAIN: VoteOption
VOTE_OPTION_NO: VoteOption
VOTE_OPTION_NO_WITH_VETO: VoteOption
PROPOSAL_STATUS_UNSPECIFIED: ProposalStatus
PROPOSAL_STATUS_DEPOSIT_PERIOD: ProposalStatus
PROPOSAL_STATUS_VOTING_PERIOD: ProposalStatus
PROPOSAL_STATUS_PASSED: ProposalStatus
PROPOSAL_STATUS_REJECTED: ProposalStatus
PROPOSAL_STATUS_FAILED: ProposalStatus

class WeightedVoteOption(_message.Message):
    __slots__ = ("option", "weight")
    OPTION_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    option: VoteOption
    weight: str
    def __init__(self, option: _Optional[_Union[VoteOption, str]] = ..., weight: _Optional[str] = ...) -> None: ...

class TallyResult(_message.Message):
    __slots__ = ("yes_count", "abstain_count", "no_count", "no_with_veto_count")
    YES_COUNT_FIELD_NUMBER: _ClassVar[int]
    ABSTAIN_COUNT_FIELD_NUMBER: _ClassVar[int]
    NO_COUNT_FIELD_NUMBER: _ClassVar[int]
    NO_WITH_VETO_COUNT_FIELD_NUMBER: _ClassVar[int]
    yes_count: str
    abstain_count: str
    no_count: str
    no_with_veto_count: str
    def __init__(self, yes_count: _Optional[str] = ..., abstain_count: _Optional[str] = ..., no_count: _Optional[str] = ..., no_with_veto_count: _Optional[str] = ...) -> None: ...

class Proposal(_message.Message):
    __slots__ = ("id", "messages", "status", "final_tally_result", "submit_time_ns", "deposit_end_time_ns", "total_deposit", "voting_start_time_ns", "voting_end_time_ns", "metadata", "title", "summary", "proposer", "failed_reason", "depositor_count", "vote_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FINAL_TALLY_RESULT_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_END_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    VOTING_START_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    VOTING_END_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_FIELD_NUMBER: _ClassVar[int]
    FAILED_REASON_FIELD_NUMBER: _ClassVar[int]
    DEPOSITOR_COUNT_FIELD_NUMBER: _ClassVar[int]
    VOTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: int
    messages: _containers.RepeatedCompositeFieldContainer[_any_pb2.Any]
    status: ProposalStatus
    final_tally_result: TallyResult
    submit_time_ns: int
    deposit_end_time_ns: int
    total_deposit: _coin_pb2.Coin
    voting_start_time_ns: int
    voting_end_time_ns: int
    metadata: str
    title: str
    summary: str
    proposer: str
    failed_reason: str
    depositor_count: int
    vote_count: int
    def __init__(self, id: _Optional[int] = ..., messages: _Optional[_Iterable[_Union[_any_pb2.Any, _Mapping]]] = ..., status: _Optional[_Union[ProposalStatus, str]] = ..., final_tally_result: _Optional[_Union[TallyResult, _Mapping]] = ..., submit_time_ns: _Optional[int] = ..., deposit_end_time_ns: _Optional[int] = ..., total_deposit: _Optional[_Union[_coin_pb2.Coin, _Mapping]] = ..., voting_start_time_ns: _Optional[int] = ..., voting_end_time_ns: _Optional[int] = ..., metadata: _Optional[str] = ..., title: _Optional[str] = ..., summary: _Optional[str] = ..., proposer: _Optional[str] = ..., failed_reason: _Optional[str] = ..., depositor_count: _Optional[int] = ..., vote_count: _Optional[int] = ...) -> None: ...

class Deposit(_message.Message):
    __slots__ = ("proposal_id", "depositor", "amount")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    DEPOSITOR_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    proposal_id: int
    depositor: str
    amount: _coin_pb2.Coin
    def __init__(self, proposal_id: _Optional[int] = ..., depositor: _Optional[str] = ..., amount: _Optional[_Union[_coin_pb2.Coin, _Mapping]] = ...) -> None: ...

class Vote(_message.Message):
    __slots__ = ("proposal_id", "voter", "options", "metadata", "seat_stake")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    VOTER_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SEAT_STAKE_FIELD_NUMBER: _ClassVar[int]
    proposal_id: int
    voter: str
    options: _containers.RepeatedCompositeFieldContainer[WeightedVoteOption]
    metadata: str
    seat_stake: str
    def __init__(self, proposal_id: _Optional[int] = ..., voter: _Optional[str] = ..., options: _Optional[_Iterable[_Union[WeightedVoteOption, _Mapping]]] = ..., metadata: _Optional[str] = ..., seat_stake: _Optional[str] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("name", "height", "info")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    name: str
    height: int
    info: str
    def __init__(self, name: _Optional[str] = ..., height: _Optional[int] = ..., info: _Optional[str] = ...) -> None: ...

class Params(_message.Message):
    __slots__ = ("min_deposit", "max_deposit_period_s", "voting_period_s", "quorum", "threshold", "veto_threshold", "min_initial_deposit_ratio", "min_deposit_ratio", "burn_vote_quorum", "burn_proposal_deposit_prevote", "burn_vote_veto", "max_messages", "max_depositors", "max_ends_per_block", "max_metadata_len", "max_votes_per_proposal", "max_tally_votes_per_block")
    MIN_DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPOSIT_PERIOD_S_FIELD_NUMBER: _ClassVar[int]
    VOTING_PERIOD_S_FIELD_NUMBER: _ClassVar[int]
    QUORUM_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    VETO_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MIN_INITIAL_DEPOSIT_RATIO_FIELD_NUMBER: _ClassVar[int]
    MIN_DEPOSIT_RATIO_FIELD_NUMBER: _ClassVar[int]
    BURN_VOTE_QUORUM_FIELD_NUMBER: _ClassVar[int]
    BURN_PROPOSAL_DEPOSIT_PREVOTE_FIELD_NUMBER: _ClassVar[int]
    BURN_VOTE_VETO_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPOSITORS_FIELD_NUMBER: _ClassVar[int]
    MAX_ENDS_PER_BLOCK_FIELD_NUMBER: _ClassVar[int]
    MAX_METADATA_LEN_FIELD_NUMBER: _ClassVar[int]
    MAX_VOTES_PER_PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    MAX_TALLY_VOTES_PER_BLOCK_FIELD_NUMBER: _ClassVar[int]
    min_deposit: _coin_pb2.Coin
    max_deposit_period_s: int
    voting_period_s: int
    quorum: str
    threshold: str
    veto_threshold: str
    min_initial_deposit_ratio: str
    min_deposit_ratio: str
    burn_vote_quorum: bool
    burn_proposal_deposit_prevote: bool
    burn_vote_veto: bool
    max_messages: int
    max_depositors: int
    max_ends_per_block: int
    max_metadata_len: int
    max_votes_per_proposal: int
    max_tally_votes_per_block: int
    def __init__(self, min_deposit: _Optional[_Union[_coin_pb2.Coin, _Mapping]] = ..., max_deposit_period_s: _Optional[int] = ..., voting_period_s: _Optional[int] = ..., quorum: _Optional[str] = ..., threshold: _Optional[str] = ..., veto_threshold: _Optional[str] = ..., min_initial_deposit_ratio: _Optional[str] = ..., min_deposit_ratio: _Optional[str] = ..., burn_vote_quorum: bool = ..., burn_proposal_deposit_prevote: bool = ..., burn_vote_veto: bool = ..., max_messages: _Optional[int] = ..., max_depositors: _Optional[int] = ..., max_ends_per_block: _Optional[int] = ..., max_metadata_len: _Optional[int] = ..., max_votes_per_proposal: _Optional[int] = ..., max_tally_votes_per_block: _Optional[int] = ...) -> None: ...
