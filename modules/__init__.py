"""Infera's modules, one folder each, laid out the same way (see docs/modules.md)."""
