"""Store keys of the bank module."""

BALANCE = b"bank/bal/"  # + address (20 bytes) + denom -> amount (decimal string)
SUPPLY = b"bank/supply/"  # + denom -> total amount in existence (decimal string)


def balance_key(address: bytes, denom: str) -> bytes:
    return BALANCE + address + denom.encode()


def supply_key(denom: str) -> bytes:
    return SUPPLY + denom.encode()
