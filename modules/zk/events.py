"""zk event types (attributes marked * are indexed)."""

REGISTER_KEY = "zk_register_key"  # key_id*, model_id*, owner*, num_public, dev_setup, weights,
# weights_commitment (hex, empty for baked keys)
PROOF_SUBMITTED = "zk_proof_submitted"  # job_id*, prover*, key_id
PROOF_VERIFIED = "zk_proof_verified"  # job_id*, prover*, key_id, paid, refunded
PROOF_REJECTED = "zk_proof_rejected"  # job_id*, prover*, key_id, code
