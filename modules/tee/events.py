"""tee event types (attributes marked * are indexed)."""

ATTEST = "tee_attest"  # operator*, tee_type, verifier, verifier_version, tcb_status,
# measurement (hex), epoch, expires_height, expires_time
SET_REQUIREMENT = "tee_set_requirement"  # model_id*, owner*, tee_types (comma list of names),
# measurements (count)
