"""workers event types (attributes marked * are indexed)."""

REGISTER_WORKER = "register_worker"  # worker*, endpoint, stake, device, memory_bytes, throughput
UPDATE_WORKER = "update_worker"  # worker*, fields (comma-separated names of what changed)
SERVE_SPAN = "serve_span"  # worker*, model_id*, start, end
STOP_SERVING = "stop_serving"  # worker*, model_id*, start, end
HEARTBEAT = "worker_heartbeat"  # worker*, height
UNBOND_WORKER = "unbond_worker"  # worker*, amount, completion_height
UNBONDING_COMPLETE = "worker_unbonded"  # worker* (end-block), amount paid back
SLASH_WORKER = "slash_worker"  # worker*, reason, amount, bonded, unbonding (left after the slash)
REPUTATION = "worker_reputation"  # worker*, reputation (new value, micro-units)
