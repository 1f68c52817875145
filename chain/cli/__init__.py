"""The ``infera`` command line (typer): node set-up and operation, keys, transactions, queries.

Entry point: ``chain.cli.main:main``. Sub-commands live one group per file: ``keys``, ``tx``,
``query``, ``testnet``; ``rpc`` is the CometBFT JSON-RPC client they share.
"""
