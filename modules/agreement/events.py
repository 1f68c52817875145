"""agreement event types (attributes marked * are indexed)."""

# job_id*, worker*, route, hop
OUTPUT_COMMITTED = "infera.output_committed"
# job_id*, model_id*, submitter*, reveal_end_height: the commit round closed, hops may reveal
REVEALS_OPEN = "infera.reveals_open"
# job_id*, worker*, route, hop, output_hash (hex)
OUTPUT_REVEALED = "infera.output_revealed"
# job_id*, model_id*, submitter*, output_hash, charge, protocol_amount, refunded, winning_routes
JOB_FINALIZED = "infera.job_finalized"
# job_id*, model_id*, submitter*, claim (one "route:status:output_hash" attribute per route)
JOB_DISPUTED = "infera.job_disputed"
# job_id*, worker*, amount, layers
WORKER_PAID = "infera.worker_paid"
# job_id*, worker*, reason, slashed, reputation
WORKER_PENALIZED = "infera.worker_penalized"
# job_id*, output_hash
DISPUTE_RESOLVED = "infera.dispute_resolved"
# job_id*, model_id*, deadline_height: validators re-check this finalized job
JOB_AUDITED = "infera.job_audited"
# job_id*, amount, release_height: an audited job's charge is held until the verdict
PAYOUT_HELD = "infera.payout_held"
# job_id*, amount, reason ("audit passed" / "audit failed: passing route paid"): the hold is paid
PAYOUT_RELEASED = "infera.payout_released"
# job_id*, submitter*, amount: the audit failed, the hold went back to the submitter
PAYOUT_REFUNDED = "infera.payout_refunded"
# job_id*, failed ("true"/"false"): validators decided an audit
AUDIT_DECIDED = "infera.audit_decided"
# job_id*, validator*, power, verdict (hex of the canonical Verdict bytes)
VERDICT_RECORDED = "infera.verdict_recorded"
# job_id*, validator*, amount: a validator whose verdict matched the decided outcome is paid
VERIFIER_PAID = "infera.verifier_paid"
# job_id*, windows: no decided verdict in the verdict windows; the submitter is refunded
VERIFICATION_UNDECIDED = "infera.verification_undecided"
# job_id*, worker*, route, hop: a sealed job's hop says its box does not open
SEAL_CONTESTED = "infera.seal_contested"
# job_id*, worker*, route, hop, slashed, reputation: a disclosure rebuilt a contested box
FALSE_CONTEST = "infera.false_seal_contest"
