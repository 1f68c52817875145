"""slashing event types."""

LIVENESS = "liveness"  # validator (indexed), missed_blocks, height: a missed vote
SLASH = "slash"  # validator (indexed), reason "missing_signature", slashed, jailed_until_ns
UNJAIL = "unjail"  # validator (indexed)
