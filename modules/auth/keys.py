"""Store keys of the auth module."""

ACCOUNT = b"auth/acc/"  # + address (20 bytes) -> cosmos.auth.v1beta1.BaseAccount
NEXT_ACCOUNT_NUMBER = b"auth/next_num"  # -> decimal string of the next account number
PARAMS = b"auth/params"  # -> infera.auth.v1.Params


def account_key(address: bytes) -> bytes:
    return ACCOUNT + address
