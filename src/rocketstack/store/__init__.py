"""Persistent state: the database (the only module that knows SQL), code blobs and records."""
