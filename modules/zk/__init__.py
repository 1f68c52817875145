"""zk module: Groth16 (BN254) verifying keys and proofs of model inference, verified in consensus."""
