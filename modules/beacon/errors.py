"""beacon errors (codespace "beacon"); codes are stable."""

from chain.errors import register

CODESPACE = "beacon"
ErrNotValidator = register(CODESPACE, 2, "signer is not the operator of a validator")
ErrKeyExists = register(CODESPACE, 3, "the validator already has a beacon key")
ErrInvalidKey = register(CODESPACE, 4, "malformed BLS key or failing proof of possession")
ErrKeyInUse = register(CODESPACE, 5, "this BLS key is registered for another validator")
