"""Store keys of the beacon module."""

KEY = b"beacon/key/"  # + consensus address (20 bytes) -> BLS12-381 G1 public key (48 bytes)
VALUE = b"beacon/value/"  # + u64_be(height) -> beacon value of that height (32 bytes)
PROOF = b"beacon/proof/"  # + consensus address -> the key's proof of possession (96 bytes)
OWNER = b"beacon/owner/"  # + BLS public key (48 bytes) -> consensus address (one key, one owner)
EXCLUDED = b"beacon/excluded/"  # + consensus address -> u64_be(last height its shares are ignored)
PARAMS = b"beacon/params"  # -> infera.beacon.v1.Params
ACTIVE = b"beacon/active"  # -> b"1" once a beacon value was stored (seeds then wait for one)


def value_key(height: int) -> bytes:
    return VALUE + height.to_bytes(8, "big")
