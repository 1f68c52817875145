"""Infera's framework (the "BaseApp"): ABCI server, store, transactions, routing, CLI.

No business rules live here; modules under ``modules/`` hold them.
"""
