"""bank errors: the Cosmos SDK's own codes (insufficient funds, invalid coins) plus these."""

from chain.errors import register

CODESPACE = "bank"
ErrSendDisabled = register(CODESPACE, 2, "send transactions are disabled")
ErrBlockedAddress = register(CODESPACE, 3, "address is not allowed to receive funds")
