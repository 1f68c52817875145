"""The off-chain inference worker: model families, shard execution (no I/O), the pipeline
server and route driver, the chain watcher, fingerprints and the verifier."""
