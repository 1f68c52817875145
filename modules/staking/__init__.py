"""staking: the validator set, self-bonds, voting power updates and double-sign slashing."""
