"""staking errors (codespace "staking")."""

from chain.errors import register

CODESPACE = "staking"
ErrValidatorExists = register(CODESPACE, 2, "validator already exists for this operator")
ErrConsensusKeyInUse = register(CODESPACE, 3, "consensus public key already used by a validator")
ErrInvalidConsensusKey = register(CODESPACE, 4, "consensus public key must be 32 bytes of ed25519")
ErrSelfBondTooLow = register(CODESPACE, 5, "self-bond below the minimum")
ErrWrongBondDenom = register(CODESPACE, 6, "self-bond is not in the bond denom")
ErrInvalidMoniker = register(CODESPACE, 7, "moniker must be 1 to 70 characters")
ErrValidatorNotFound = register(CODESPACE, 8, "validator not found")
ErrValidatorJailed = register(CODESPACE, 9, "validator is jailed")
ErrNoDelegation = register(CODESPACE, 10, "no delegation for this (delegator, validator) pair")
ErrInsufficientShares = register(CODESPACE, 11, "amount exceeds what the delegation is worth")
ErrMaxEntries = register(CODESPACE, 12, "too many unbonding or redelegation entries")
ErrSelfRedelegation = register(CODESPACE, 13, "cannot redelegate to the same validator")
ErrTransitiveRedelegation = register(
    CODESPACE, 14, "redelegation into the source validator still in progress"
)
ErrInvalidCommission = register(CODESPACE, 15, "invalid commission")
ErrCommissionChange = register(CODESPACE, 16, "commission change not allowed")
ErrDelegationRefused = register(
    CODESPACE, 17, "validator has no tokens left for its shares: delegation would get 0 shares"
)
