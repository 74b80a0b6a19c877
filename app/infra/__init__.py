"""Adapters to the outside world: database, crypto, HTTP delivery, stores."""
