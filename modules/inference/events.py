"""inference event types (attributes marked * are indexed for /tx_search and /block_search)."""

# job_id*, model_id*, submitter*, max_fee, redundancy, deadline_height
JOB_SUBMITTED = "infera.job_submitted"
# job_id*, model_id*, submitter*, worker* (one attribute per hop), hop (one JSON object per hop:
# route, hop, worker, start, end, endpoint, next_endpoint), seed (hex), decoding, max_new_tokens,
# commit_end_height, reveal_end_height, deadline_height, privacy, seal_end_height (0 if public)
JOB_ASSIGNED = "infera.job_assigned"
# job_id*, model_id*, submitter*, refunded
JOB_CANCELLED = "infera.job_cancelled"
# job_id*, model_id*, submitter*, reason, refunded
JOB_EXPIRED = "infera.job_expired"
# job_id*, model_id*, submitter*, worker* (one per hop), commit_end_height, reveal_end_height
JOB_SEALED = "infera.job_sealed"
# job_id*, model_id*, submitter*, outputs_opened
JOB_DISCLOSED = "infera.job_disclosed"
