"""What models needs from other modules: nothing (it is read by workers, sharding, inference)."""
