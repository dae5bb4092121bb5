"""Immich source: the REST client and the album watcher (no Home Assistant imports)."""
