"""gov errors (codespace "gov"); codes follow the Cosmos SDK x/gov where one exists."""

from chain.errors import register

CODESPACE = "gov"
ErrUnknownProposal = register(CODESPACE, 3, "unknown proposal")
ErrInactiveProposal = register(CODESPACE, 4, "inactive proposal")
ErrInvalidProposalContent = register(CODESPACE, 5, "invalid proposal content")
ErrInvalidVote = register(CODESPACE, 8, "invalid vote option")
ErrInvalidSigner = register(
    CODESPACE, 12, "expected gov account as only signer for proposal message"
)
ErrMetadataTooLong = register(CODESPACE, 15, "metadata too long")
ErrMinDepositTooSmall = register(CODESPACE, 16, "minimum deposit is too small")
ErrInvalidProposal = register(CODESPACE, 17, "invalid proposal")
ErrNoProposalMsgs = register(CODESPACE, 18, "no messages proposed")
ErrInvalidDepositDenom = register(CODESPACE, 19, "invalid deposit denom")
ErrInvalidParams = register(CODESPACE, 20, "invalid params")
ErrNoVotingPower = register(CODESPACE, 30, "voter has no voting power")
ErrTooManyDepositors = register(CODESPACE, 31, "too many depositors")
ErrUnknownParamsModule = register(CODESPACE, 32, "no module with updatable params of this name")
ErrInvalidPlan = register(CODESPACE, 33, "invalid upgrade plan")
ErrNoUpgradePlan = register(CODESPACE, 34, "no upgrade plan scheduled")
ErrVoteSeatsFull = register(
    CODESPACE, 35, "every vote seat of the proposal holds at least the voter's stake"
)
