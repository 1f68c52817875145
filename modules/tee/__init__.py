"""tee module (in progress): pure vendor verifiers of TEE attestation reports (issue 17)."""
