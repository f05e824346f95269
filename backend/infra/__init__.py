"""Adapters to infrastructure: key-value store, encryption, keys."""
