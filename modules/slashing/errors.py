"""slashing errors (codespace "slashing")."""

from chain.errors import register

CODESPACE = "slashing"
ErrNoValidator = register(CODESPACE, 2, "validator not found")
ErrNotJailed = register(CODESPACE, 3, "validator is not jailed")
ErrTombstoned = register(CODESPACE, 4, "validator double-signed: it can never unjail")
ErrJailPeriod = register(CODESPACE, 5, "validator is still in its jail period")
ErrSelfBondTooLow = register(CODESPACE, 6, "self-delegation below the minimum self-bond")
