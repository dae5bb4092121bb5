"""Cache of Telegram file_ids, scoped to one bot, keyed by what the content is.

A file_id is only valid for the bot that received it, so each `TelegramBot` owns one
cache. Entries expire after a TTL (Telegram may purge files) and are dropped early when
Telegram calls an id stale. Persistence is left to the owner: `as_dict`/`from_dict`
give a JSON-friendly form, and `on_change` is called after every change so Home
Assistant can schedule a delayed `Store` save.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
import time
from typing import Any

from ...pipeline.log import get_logger

_LOGGER = get_logger(__name__)

DEFAULT_TTL = 30 * 24 * 3600.0
DEFAULT_MAX_ENTRIES = 5000
STORAGE_VERSION = 1


@dataclass(frozen=True, slots=True)
class CachedFile:
    """A file Telegram already has: its id, how it was sent, and when."""

    file_id: str
    # The send method's media kind ("photo", "video", "document"); a file_id only
    # works with the method that produced it.
    kind: str
    size: int
    stored_at: float


class FileIdCache:
    """Maps a content key to the file_id Telegram gave this bot for it."""

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        """Create an empty cache; wall-clock time because entries outlive restarts."""
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, CachedFile] = OrderedDict()
        self.on_change = on_change
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        """Return how many entries are cached (expired ones included until read)."""
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """Return whether a live entry exists (not counted as a hit or miss)."""
        entry = self._entries.get(key) if isinstance(key, str) else None
        return entry is not None and self._clock() - entry.stored_at <= self._ttl

    def get(self, key: str) -> CachedFile | None:
        """Return the cached file for a key, or None when absent or expired."""
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry.stored_at > self._ttl:
            self._remove(key)
            entry = None
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return entry

    def put(self, key: str, file_id: str, kind: str, size: int) -> None:
        """Remember the file_id Telegram returned for an upload."""
        self._entries[key] = CachedFile(file_id, kind, size, self._clock())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)  # least recently used
        self._changed()

    def invalidate(self, key: str) -> None:
        """Forget a key whose file_id Telegram no longer accepts."""
        if key in self._entries:
            _LOGGER.debug("Dropping stale file_id for %s", key)
            self._remove(key)

    def _remove(self, key: str) -> None:
        del self._entries[key]
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-friendly form to persist (expired entries left out)."""
        now = self._clock()
        return {
            "version": STORAGE_VERSION,
            "entries": {
                key: asdict(entry)
                for key, entry in self._entries.items()
                if now - entry.stored_at <= self._ttl
            },
        }

    def load_dict(self, data: Mapping[str, Any] | None) -> None:
        """Replace the entries with persisted ones; malformed entries are ignored."""
        self._entries.clear()
        if not data or data.get("version") != STORAGE_VERSION:
            return
        for key, raw in dict(data.get("entries") or {}).items():
            try:
                entry = CachedFile(
                    str(raw["file_id"]),
                    str(raw["kind"]),
                    int(raw["size"]),
                    float(raw["stored_at"]),
                )
            except KeyError, TypeError, ValueError:
                continue
            self._entries[str(key)] = entry

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, **kwargs: Any) -> FileIdCache:
        """Return a cache filled from `as_dict` output."""
        cache = cls(**kwargs)
        cache.load_dict(data)
        return cache
