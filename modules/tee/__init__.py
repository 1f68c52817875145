"""tee module: TEE attestation reports verified in consensus, and TEE-required routing (issue 17)."""
