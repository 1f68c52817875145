"""models: registered models, their weight commitments, prices and redundancy (owner-managed)."""
