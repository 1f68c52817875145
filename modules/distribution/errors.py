"""distribution errors (codespace "distribution")."""

from chain.errors import register

CODESPACE = "distribution"
ErrNoDelegation = register(CODESPACE, 2, "no delegation for this (delegator, validator) pair")
ErrNoValidator = register(CODESPACE, 3, "validator not found")
