"""Zero-knowledge proofs of small-model inference (circuits, prover behind one interface)."""
