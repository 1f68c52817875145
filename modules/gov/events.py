"""gov event types (attribute names follow the Cosmos SDK x/gov where one exists)."""

SUBMIT_PROPOSAL = "submit_proposal"  # proposal_id (indexed), proposal_messages, proposer
PROPOSAL_DEPOSIT = "proposal_deposit"  # proposal_id (indexed), depositor, amount
VOTING_PERIOD_START = "voting_period_start"  # proposal_id (indexed)
PROPOSAL_VOTE = "proposal_vote"  # proposal_id (indexed), voter (indexed), option
VOTE_EVICTED = "vote_evicted"  # proposal_id (indexed), voter (indexed), seat_stake
INACTIVE_PROPOSAL = "inactive_proposal"  # proposal_id (indexed), proposal_result, deposits
ACTIVE_PROPOSAL = "active_proposal"  # proposal_id (indexed), proposal_result, deposits, log
UPDATE_PARAMS = "update_params"  # module (indexed)
SCHEDULE_UPGRADE = "schedule_upgrade"  # name (indexed), height
CANCEL_UPGRADE = "cancel_upgrade"  # name (indexed)
APPLY_UPGRADE = "apply_upgrade"  # name (indexed), height
