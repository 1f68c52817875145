"""gov: proposals, deposits, stake-weighted votes, param changes and software-upgrade plans."""
