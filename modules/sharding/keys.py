"""Store keys of the sharding module (coverage is derived from the workers' span index)."""

PARAMS = b"sharding/params"  # -> infera.sharding.v1.Params
