"""Store keys of the gov module.

Proposal ids are 8 bytes big-endian (so keys sort by id); times are block-time unix nanoseconds,
8 bytes big-endian; addresses are 20 bytes. Concatenated keys split without ambiguity.
"""

PARAMS = b"gov/params"  # -> infera.gov.v1.Params
NEXT_ID = b"gov/next_id"  # -> id of the next proposal, ASCII decimal
PROPOSAL = b"gov/proposal/"  # + id (8) -> infera.gov.v1.Proposal
DEPOSIT = b"gov/deposit/"  # + id (8) + depositor (20) -> infera.gov.v1.Deposit
VOTE = b"gov/vote/"  # + id (8) + voter (20) -> infera.gov.v1.Vote
SEAT = b"gov/seat/"  # + id (8) + seat stake (16 B BE) + voter (20) -> 0x01: votes, smallest first
INACTIVE_QUEUE = b"gov/inactive/"  # + deposit end time (8) + id (8) -> 0x01 (deposit period)
ACTIVE_QUEUE = b"gov/active/"  # + voting end time (8) + id (8) -> 0x01 (voting period)
UPGRADE_PLAN = b"gov/upgrade/plan"  # -> infera.gov.v1.Plan (at most one scheduled)
UPGRADE_DONE = b"gov/upgrade/done/"  # + plan name (ASCII) -> height it ran at, ASCII decimal

SEAT_STAKE_MAX = 2**128 - 1  # seat stakes above it (more tokens than exist) rank as equal
GOV_MODULE = "gov"  # module account: holds deposits, signs (executes) passed proposals' messages


def id_bytes(proposal_id: int) -> bytes:
    return proposal_id.to_bytes(8, "big")


def time_bytes(time_ns: int) -> bytes:
    return max(time_ns, 0).to_bytes(8, "big")


def proposal_key(proposal_id: int) -> bytes:
    return PROPOSAL + id_bytes(proposal_id)


def deposit_key(proposal_id: int, depositor: bytes) -> bytes:
    return DEPOSIT + id_bytes(proposal_id) + depositor


def vote_key(proposal_id: int, voter: bytes) -> bytes:
    return VOTE + id_bytes(proposal_id) + voter


def seat_key(proposal_id: int, stake: int, voter: bytes) -> bytes:
    return SEAT + id_bytes(proposal_id) + min(stake, SEAT_STAKE_MAX).to_bytes(16, "big") + voter


def queue_key(queue: bytes, end_time_ns: int, proposal_id: int) -> bytes:
    return queue + time_bytes(end_time_ns) + id_bytes(proposal_id)
