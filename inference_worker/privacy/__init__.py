"""Privacy capabilities of the worker: equivariant encryption of served weights (ee.py)."""
