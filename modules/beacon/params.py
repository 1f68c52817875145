"""Default beacon params, priced from measured py-ecc costs (README "Params")."""

import chain.pb  # noqa: F401

from infera.beacon.v1 import types_pb2

# PopVerify (two pairings, py-ecc) measured 0.46 s on this 2-core machine idle, 1.19 s loaded
# (README). At 20M gas a block of the default 100M max_gas can ask for at most 5 (~2.3-6 s).
REGISTER_KEY_GAS = 20_000_000


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        keep_heights=100_000,  # beacon values kept (a day at ~1 block/s)
        prune_per_block=2,  # > the one value a block adds, so a smaller window catches up
        register_key_gas=REGISTER_KEY_GAS,
    )


def validate_params(params: types_pb2.Params) -> None:
    """Raise ``ValueError`` when params are unusable (genesis)."""
    if params.keep_heights and params.keep_heights < 1000:
        raise ValueError("beacon keep_heights must be 0 (keep all) or >= 1000")
    if not 2 <= params.prune_per_block <= 64:
        raise ValueError("beacon prune_per_block must be 2..64")
    if params.register_key_gas < 1:
        raise ValueError("beacon register_key_gas must be positive")
