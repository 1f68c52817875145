"""Store keys of the slashing module (consensus addresses 20 bytes, indexes 8 bytes BE)."""

PARAMS = b"slashing/params"  # -> infera.slashing.v1.Params
INFO = b"slashing/info/"  # + consensus address -> ValidatorSigningInfo
# + consensus address + window index (8 bytes) -> 0x01 when that vote was missed (absent when
# signed): at most signed_blocks_window keys per validator
MISSED = b"slashing/missed/"


def missed_key(address: bytes, index: int) -> bytes:
    return MISSED + address + index.to_bytes(8, "big")
