"""The ABCI 2.0 socket server CometBFT connects to."""
