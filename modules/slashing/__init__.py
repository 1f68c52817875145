"""slashing: liveness. A validator that misses too many of the last signed_blocks_window blocks
is slashed, jailed for a while, and unjails by MsgUnjail (never after a double sign)."""
