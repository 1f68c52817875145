"""sharding: coverage of each model's layers by active workers, span suggestions, route selection."""
