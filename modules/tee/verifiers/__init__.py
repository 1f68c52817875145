"""One pure verifier per TEE type; ``registry.VERIFIERS`` maps each type to its function."""
