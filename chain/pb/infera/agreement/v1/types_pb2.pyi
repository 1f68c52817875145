from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RouteStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROUTE_STATUS_UNSPECIFIED: _ClassVar[RouteStatus]
    ROUTE_STATUS_COMPLETE: _ClassVar[RouteStatus]
    ROUTE_STATUS_INCOMPLETE: _ClassVar[RouteStatus]
    ROUTE_STATUS_INCONSISTENT: _ClassVar[RouteStatus]

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_FINALIZED: _ClassVar[Outcome]
    OUTCOME_DISPUTED: _ClassVar[Outcome]
    OUTCOME_NO_QUORUM: _ClassVar[Outcome]

class HoldStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HOLD_STATUS_UNSPECIFIED: _ClassVar[HoldStatus]
    HOLD_STATUS_HELD: _ClassVar[HoldStatus]
    HOLD_STATUS_PAID: _ClassVar[HoldStatus]
    HOLD_STATUS_REFUNDED: _ClassVar[HoldStatus]

class VerificationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERIFICATION_KIND_UNSPECIFIED: _ClassVar[VerificationKind]
    VERIFICATION_KIND_DISPUTE: _ClassVar[VerificationKind]
    VERIFICATION_KIND_AUDIT: _ClassVar[VerificationKind]
ROUTE_STATUS_UNSPECIFIED: RouteStatus
ROUTE_STATUS_COMPLETE: RouteStatus
ROUTE_STATUS_INCOMPLETE: RouteStatus
ROUTE_STATUS_INCONSISTENT: RouteStatus
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_FINALIZED: Outcome
OUTCOME_DISPUTED: Outcome
OUTCOME_NO_QUORUM: Outcome
HOLD_STATUS_UNSPECIFIED: HoldStatus
HOLD_STATUS_HELD: HoldStatus
HOLD_STATUS_PAID: HoldStatus
HOLD_STATUS_REFUNDED: HoldStatus
VERIFICATION_KIND_UNSPECIFIED: VerificationKind
VERIFICATION_KIND_DISPUTE: VerificationKind
VERIFICATION_KIND_AUDIT: VerificationKind

class Commitment(_message.Message):
    __slots__ = ("job_id", "route_index", "hop_index", "worker", "commitment", "height")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_INDEX_FIELD_NUMBER: _ClassVar[int]
    HOP_INDEX_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    route_index: int
    hop_index: int
    worker: str
    commitment: bytes
    height: int
    def __init__(self, job_id: _Optional[int] = ..., route_index: _Optional[int] = ..., hop_index: _Optional[int] = ..., worker: _Optional[str] = ..., commitment: _Optional[bytes] = ..., height: _Optional[int] = ...) -> None: ...

class Reveal(_message.Message):
    __slots__ = ("job_id", "route_index", "hop_index", "worker", "output_hash", "shard_fingerprint", "salt", "height", "sealed_output")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_INDEX_FIELD_NUMBER: _ClassVar[int]
    HOP_INDEX_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    SHARD_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SEALED_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    route_index: int
    hop_index: int
    worker: str
    output_hash: bytes
    shard_fingerprint: bytes
    salt: bytes
    height: int
    sealed_output: bytes
    def __init__(self, job_id: _Optional[int] = ..., route_index: _Optional[int] = ..., hop_index: _Optional[int] = ..., worker: _Optional[str] = ..., output_hash: _Optional[bytes] = ..., shard_fingerprint: _Optional[bytes] = ..., salt: _Optional[bytes] = ..., height: _Optional[int] = ..., sealed_output: _Optional[bytes] = ...) -> None: ...

class Output(_message.Message):
    __slots__ = ("output_hash", "tokens", "text", "billable_tokens")
    OUTPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    BILLABLE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    output_hash: bytes
    tokens: _containers.RepeatedScalarFieldContainer[int]
    text: bytes
    billable_tokens: int
    def __init__(self, output_hash: _Optional[bytes] = ..., tokens: _Optional[_Iterable[int]] = ..., text: _Optional[bytes] = ..., billable_tokens: _Optional[int] = ...) -> None: ...

class RouteClaim(_message.Message):
    __slots__ = ("route_index", "status", "output_hash")
    ROUTE_INDEX_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    route_index: int
    status: RouteStatus
    output_hash: bytes
    def __init__(self, route_index: _Optional[int] = ..., status: _Optional[_Union[RouteStatus, str]] = ..., output_hash: _Optional[bytes] = ...) -> None: ...

class Dispute(_message.Message):
    __slots__ = ("job_id", "claims", "opened_height", "resolved", "winning_output_hash", "resolved_height")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    OPENED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    WINNING_OUTPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    claims: _containers.RepeatedCompositeFieldContainer[RouteClaim]
    opened_height: int
    resolved: bool
    winning_output_hash: bytes
    resolved_height: int
    def __init__(self, job_id: _Optional[int] = ..., claims: _Optional[_Iterable[_Union[RouteClaim, _Mapping]]] = ..., opened_height: _Optional[int] = ..., resolved: bool = ..., winning_output_hash: _Optional[bytes] = ..., resolved_height: _Optional[int] = ...) -> None: ...

class DisputeVote(_message.Message):
    __slots__ = ("job_id", "validator", "output_hash", "power", "height", "passing_output_hashes", "culprits")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATOR_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    POWER_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PASSING_OUTPUT_HASHES_FIELD_NUMBER: _ClassVar[int]
    CULPRITS_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    validator: str
    output_hash: bytes
    power: int
    height: int
    passing_output_hashes: _containers.RepeatedScalarFieldContainer[bytes]
    culprits: _containers.RepeatedCompositeFieldContainer[Culprit]
    def __init__(self, job_id: _Optional[int] = ..., validator: _Optional[str] = ..., output_hash: _Optional[bytes] = ..., power: _Optional[int] = ..., height: _Optional[int] = ..., passing_output_hashes: _Optional[_Iterable[bytes]] = ..., culprits: _Optional[_Iterable[_Union[Culprit, _Mapping]]] = ...) -> None: ...

class Payout(_message.Message):
    __slots__ = ("recipient", "amount", "route_index", "layers", "hop_index", "verifier")
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ROUTE_INDEX_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    HOP_INDEX_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_FIELD_NUMBER: _ClassVar[int]
    recipient: str
    amount: str
    route_index: int
    layers: int
    hop_index: int
    verifier: bool
    def __init__(self, recipient: _Optional[str] = ..., amount: _Optional[str] = ..., route_index: _Optional[int] = ..., layers: _Optional[int] = ..., hop_index: _Optional[int] = ..., verifier: bool = ...) -> None: ...

class Penalty(_message.Message):
    __slots__ = ("worker", "route_index", "hop_index", "slashed", "reason")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    ROUTE_INDEX_FIELD_NUMBER: _ClassVar[int]
    HOP_INDEX_FIELD_NUMBER: _ClassVar[int]
    SLASHED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    worker: str
    route_index: int
    hop_index: int
    slashed: str
    reason: str
    def __init__(self, worker: _Optional[str] = ..., route_index: _Optional[int] = ..., hop_index: _Optional[int] = ..., slashed: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReputationChange(_message.Message):
    __slots__ = ("worker", "reputation")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    REPUTATION_FIELD_NUMBER: _ClassVar[int]
    worker: str
    reputation: int
    def __init__(self, worker: _Optional[str] = ..., reputation: _Optional[int] = ...) -> None: ...

class Settlement(_message.Message):
    __slots__ = ("job_id", "outcome", "winning_output_hash", "claims", "charge", "protocol_amount", "payouts", "penalties", "reputations", "height")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    WINNING_OUTPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    CHARGE_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAYOUTS_FIELD_NUMBER: _ClassVar[int]
    PENALTIES_FIELD_NUMBER: _ClassVar[int]
    REPUTATIONS_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    outcome: Outcome
    winning_output_hash: bytes
    claims: _containers.RepeatedCompositeFieldContainer[RouteClaim]
    charge: str
    protocol_amount: str
    payouts: _containers.RepeatedCompositeFieldContainer[Payout]
    penalties: _containers.RepeatedCompositeFieldContainer[Penalty]
    reputations: _containers.RepeatedCompositeFieldContainer[ReputationChange]
    height: int
    def __init__(self, job_id: _Optional[int] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., winning_output_hash: _Optional[bytes] = ..., claims: _Optional[_Iterable[_Union[RouteClaim, _Mapping]]] = ..., charge: _Optional[str] = ..., protocol_amount: _Optional[str] = ..., payouts: _Optional[_Iterable[_Union[Payout, _Mapping]]] = ..., penalties: _Optional[_Iterable[_Union[Penalty, _Mapping]]] = ..., reputations: _Optional[_Iterable[_Union[ReputationChange, _Mapping]]] = ..., height: _Optional[int] = ...) -> None: ...

class Params(_message.Message):
    __slots__ = ("commit_window_blocks", "reveal_window_blocks", "quorum_numerator", "quorum_denominator", "protocol_share", "reputation_reward", "reputation_penalty_absent", "reputation_penalty_mismatch", "slash_fraction_absent", "max_settlements_per_block", "slash_fraction_cheat", "reputation_penalty_cheat", "audit_probability", "audit_window_blocks", "commit_milli_blocks_per_token", "divergence_full_precision", "divergence_half_precision", "verification_slots", "verdict_max_windows", "slash_fraction_withhold", "verification_share")
    COMMIT_WINDOW_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    REVEAL_WINDOW_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    QUORUM_NUMERATOR_FIELD_NUMBER: _ClassVar[int]
    QUORUM_DENOMINATOR_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_SHARE_FIELD_NUMBER: _ClassVar[int]
    REPUTATION_REWARD_FIELD_NUMBER: _ClassVar[int]
    REPUTATION_PENALTY_ABSENT_FIELD_NUMBER: _ClassVar[int]
    REPUTATION_PENALTY_MISMATCH_FIELD_NUMBER: _ClassVar[int]
    SLASH_FRACTION_ABSENT_FIELD_NUMBER: _ClassVar[int]
    MAX_SETTLEMENTS_PER_BLOCK_FIELD_NUMBER: _ClassVar[int]
    SLASH_FRACTION_CHEAT_FIELD_NUMBER: _ClassVar[int]
    REPUTATION_PENALTY_CHEAT_FIELD_NUMBER: _ClassVar[int]
    AUDIT_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    AUDIT_WINDOW_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    COMMIT_MILLI_BLOCKS_PER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DIVERGENCE_FULL_PRECISION_FIELD_NUMBER: _ClassVar[int]
    DIVERGENCE_HALF_PRECISION_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_SLOTS_FIELD_NUMBER: _ClassVar[int]
    VERDICT_MAX_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    SLASH_FRACTION_WITHHOLD_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_SHARE_FIELD_NUMBER: _ClassVar[int]
    commit_window_blocks: int
    reveal_window_blocks: int
    quorum_numerator: int
    quorum_denominator: int
    protocol_share: str
    reputation_reward: str
    reputation_penalty_absent: str
    reputation_penalty_mismatch: str
    slash_fraction_absent: str
    max_settlements_per_block: int
    slash_fraction_cheat: str
    reputation_penalty_cheat: str
    audit_probability: str
    audit_window_blocks: int
    commit_milli_blocks_per_token: int
    divergence_full_precision: str
    divergence_half_precision: str
    verification_slots: int
    verdict_max_windows: int
    slash_fraction_withhold: str
    verification_share: str
    def __init__(self, commit_window_blocks: _Optional[int] = ..., reveal_window_blocks: _Optional[int] = ..., quorum_numerator: _Optional[int] = ..., quorum_denominator: _Optional[int] = ..., protocol_share: _Optional[str] = ..., reputation_reward: _Optional[str] = ..., reputation_penalty_absent: _Optional[str] = ..., reputation_penalty_mismatch: _Optional[str] = ..., slash_fraction_absent: _Optional[str] = ..., max_settlements_per_block: _Optional[int] = ..., slash_fraction_cheat: _Optional[str] = ..., reputation_penalty_cheat: _Optional[str] = ..., audit_probability: _Optional[str] = ..., audit_window_blocks: _Optional[int] = ..., commit_milli_blocks_per_token: _Optional[int] = ..., divergence_full_precision: _Optional[str] = ..., divergence_half_precision: _Optional[str] = ..., verification_slots: _Optional[int] = ..., verdict_max_windows: _Optional[int] = ..., slash_fraction_withhold: _Optional[str] = ..., verification_share: _Optional[str] = ...) -> None: ...

class Culprit(_message.Message):
    __slots__ = ("route_index", "hop_index")
    ROUTE_INDEX_FIELD_NUMBER: _ClassVar[int]
    HOP_INDEX_FIELD_NUMBER: _ClassVar[int]
    route_index: int
    hop_index: int
    def __init__(self, route_index: _Optional[int] = ..., hop_index: _Optional[int] = ...) -> None: ...

class Verdict(_message.Message):
    __slots__ = ("job_id", "passing_output_hashes", "culprits", "selected_output_hash")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PASSING_OUTPUT_HASHES_FIELD_NUMBER: _ClassVar[int]
    CULPRITS_FIELD_NUMBER: _ClassVar[int]
    SELECTED_OUTPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    passing_output_hashes: _containers.RepeatedScalarFieldContainer[bytes]
    culprits: _containers.RepeatedCompositeFieldContainer[Culprit]
    selected_output_hash: bytes
    def __init__(self, job_id: _Optional[int] = ..., passing_output_hashes: _Optional[_Iterable[bytes]] = ..., culprits: _Optional[_Iterable[_Union[Culprit, _Mapping]]] = ..., selected_output_hash: _Optional[bytes] = ...) -> None: ...

class VoteExtension(_message.Message):
    __slots__ = ("verdicts",)
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    verdicts: _containers.RepeatedCompositeFieldContainer[Verdict]
    def __init__(self, verdicts: _Optional[_Iterable[_Union[Verdict, _Mapping]]] = ...) -> None: ...

class Audit(_message.Message):
    __slots__ = ("job_id", "output_hash", "opened_height", "deadline_height", "decided", "failed", "held_amount", "denom", "payouts", "hold_status", "released_height", "diverged", "reserve_amount", "verification_fee")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    OPENED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    HELD_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DENOM_FIELD_NUMBER: _ClassVar[int]
    PAYOUTS_FIELD_NUMBER: _ClassVar[int]
    HOLD_STATUS_FIELD_NUMBER: _ClassVar[int]
    RELEASED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DIVERGED_FIELD_NUMBER: _ClassVar[int]
    RESERVE_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FEE_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    output_hash: bytes
    opened_height: int
    deadline_height: int
    decided: bool
    failed: bool
    held_amount: str
    denom: str
    payouts: _containers.RepeatedCompositeFieldContainer[Payout]
    hold_status: HoldStatus
    released_height: int
    diverged: bool
    reserve_amount: str
    verification_fee: str
    def __init__(self, job_id: _Optional[int] = ..., output_hash: _Optional[bytes] = ..., opened_height: _Optional[int] = ..., deadline_height: _Optional[int] = ..., decided: bool = ..., failed: bool = ..., held_amount: _Optional[str] = ..., denom: _Optional[str] = ..., payouts: _Optional[_Iterable[_Union[Payout, _Mapping]]] = ..., hold_status: _Optional[_Union[HoldStatus, str]] = ..., released_height: _Optional[int] = ..., diverged: bool = ..., reserve_amount: _Optional[str] = ..., verification_fee: _Optional[str] = ...) -> None: ...

class Verification(_message.Message):
    __slots__ = ("job_id", "kind", "submitter", "turn", "queued_height", "activated_height", "window_end_height", "windows", "fee")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBMITTER_FIELD_NUMBER: _ClassVar[int]
    TURN_FIELD_NUMBER: _ClassVar[int]
    QUEUED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    FEE_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    kind: VerificationKind
    submitter: str
    turn: int
    queued_height: int
    activated_height: int
    window_end_height: int
    windows: int
    fee: str
    def __init__(self, job_id: _Optional[int] = ..., kind: _Optional[_Union[VerificationKind, str]] = ..., submitter: _Optional[str] = ..., turn: _Optional[int] = ..., queued_height: _Optional[int] = ..., activated_height: _Optional[int] = ..., window_end_height: _Optional[int] = ..., windows: _Optional[int] = ..., fee: _Optional[str] = ...) -> None: ...
