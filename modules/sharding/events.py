"""sharding event types: none. Route selection is a function other modules call (the inference
module emits the job's route events); coverage changes show as workers' serve_span/stop_serving."""
