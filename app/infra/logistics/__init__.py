"""Carrier adapters: the built-in sandbox carrier and the registry that finds an adapter by
carrier code."""
