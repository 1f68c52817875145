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
