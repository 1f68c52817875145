"""workers: inference workers, their stake, declared hardware, served spans, liveness and reputation."""
