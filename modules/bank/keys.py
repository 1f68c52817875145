"""Store keys of the bank module."""

from chain.keys import bounded

BALANCE = b"bank/bal/"  # + address (20 bytes) + denom -> amount (decimal string)
SUPPLY = b"bank/supply/"  # + denom -> total amount in existence (decimal string)

MAX_DENOM_BYTES = 128  # denoms match [a-zA-Z][a-zA-Z0-9/:._-]{2,127} (chain/tx.py)


def balance_key(address: bytes, denom: str) -> bytes:
    return BALANCE + address + bounded(denom, limit=MAX_DENOM_BYTES, what="denom")


def supply_key(denom: str) -> bytes:
    return SUPPLY + bounded(denom, limit=MAX_DENOM_BYTES, what="denom")
