"""agreement: output agreement between a job's routes (the product calls it "consensus").

Not CometBFT's consensus: this module compares what the r independent routes of an inference job
computed (commit, then reveal), pays the routes whose output reached the quorum, penalizes hops
that revealed nothing and records disputes for validators to decide.
"""
