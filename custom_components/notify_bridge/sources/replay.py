"""Replay protection of webhooks: what makes two deliveries "the same", remembered.

A delivery id header (`X-Gitea-Delivery`, `Idempotency-Key`, ...) is not covered by
any signature, so a captured signed delivery re-sent with a new id used to be accepted
every time. A delivery is therefore also keyed by what its credential covers:

- HMAC: a digest of the signed material (the verified body, or Gitea's signed form
  field, prefixed with the signed timestamp where one is configured). Only the
  secret's holder can make a different key: any other byte changed (new body, keys
  reordered, whitespace, a new timestamp) breaks the signature first. A re-signed
  delivery with a fresh signed timestamp is a new key, and rightly passes: making it
  needs the secret. Without a signed timestamp an identical body within the window is
  a replay, so a signed sender repeating the very same message must vary it (a signed
  timestamp header, or a field such as a time or an id in the body).
- Bearer / none: the token does not cover the body, so whoever holds it can send any
  body; deduplicating bodies would stop no attacker and would drop a generic sender's
  repeated identical alert ("door open" twice). Only sources whose payloads are unique
  per event (Planka: ids and `updatedAt` in every body) opt in with
  `IngressConfig.unique_bodies`; their key is a digest of the parsed JSON in canonical
  form, so an exact re-send, re-indented or with reordered keys, is still caught.

Gitea's "test delivery" and redeliver buttons re-send the same body with the same
delivery id: a replay too, acknowledged with 200 and not dispatched again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
import hashlib
import json
import time
from typing import Any, Final

# How long a replay key is remembered (seconds). Past it, a signature without a
# signed timestamp can be replayed once more: only a signed timestamp closes that.
REPLAY_WINDOW_SECONDS: Final = 24 * 60 * 60
# Keys remembered at most, the oldest forgotten first. A delivery with an id takes two
# (id and content), so this keeps the last 10,000 such deliveries.
MAX_REPLAY_ENTRIES: Final = 20_000
# Hex digits of a content key: 128 bits, far beyond an accidental collision, and
# persisted state stays small (a forged collision would still need the secret).
CONTENT_KEY_HEX_DIGITS: Final = 32
# Delivery ids are `[A-Za-z0-9._-]` only, so no id can look like a content key.
CONTENT_KEY_PREFIX: Final = "body:"


def content_key(material: bytes) -> str:
    """Return the replay key of signed material (timestamp and body as signed)."""
    digest = hashlib.sha256(material).hexdigest()[:CONTENT_KEY_HEX_DIGITS]
    return CONTENT_KEY_PREFIX + digest


def payload_key(payload: Mapping[str, Any]) -> str:
    """Return the replay key of an unsigned JSON payload, whatever its key order."""
    canonical = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return content_key(canonical.encode("utf-8", "surrogatepass"))


class ReplayGuard:
    """Remember replay keys for a window so a replayed delivery is not dispatched.

    Single owner: used only from the event loop and never across an await, so the
    check-and-remember in `claim` needs no lock. Wall-clock time, because the state
    is persisted and must stay meaningful across a restart.
    """

    def __init__(
        self,
        window: float = REPLAY_WINDOW_SECONDS,
        max_entries: int = MAX_REPLAY_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Start empty; `window` in seconds, at most `max_entries` keys kept."""
        self._window = window
        self._max_entries = max_entries
        self._clock = clock
        # Insertion order is time order, so expiry and eviction pop from the front.
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        """Return how many keys are remembered."""
        return len(self._seen)

    def __contains__(self, key: object) -> bool:
        """Return whether a key is remembered and not expired."""
        self._expire(self._clock())
        return key in self._seen

    def claim(self, key: str) -> bool:
        """Remember a key; return False when it was already seen."""
        return self.claim_all((key,))

    def claim_all(self, keys: Iterable[str]) -> bool:
        """Remember every key of one delivery; False (nothing claimed) if any was seen.

        All or nothing, so a delivery refused as a replay does not refresh or add
        keys, and one accepted can be released whole.
        """
        keys = tuple(dict.fromkeys(keys))
        now = self._clock()
        self._expire(now)
        if any(key in self._seen for key in keys):
            return False
        for key in keys:
            self._seen[key] = now
        while len(self._seen) > self._max_entries:
            self._seen.popitem(last=False)
        return True

    def release(self, key: str) -> None:
        """Forget a claim whose hand-off failed, so the sender's retry gets through."""
        self._seen.pop(key, None)

    def release_all(self, keys: Iterable[str]) -> None:
        """Forget every key of a delivery whose hand-off failed."""
        for key in keys:
            self.release(key)

    def _expire(self, now: float) -> None:
        horizon = now - self._window
        while self._seen:
            oldest = next(iter(self._seen.values()))
            if oldest >= horizon:
                break
            self._seen.popitem(last=False)

    def as_dict(self) -> dict[str, Any]:
        """Return the plain form persisted with HA's Store."""
        self._expire(self._clock())
        return {"version": 1, "entries": [[key, ts] for key, ts in self._seen.items()]}

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any] | None,
        window: float = REPLAY_WINDOW_SECONDS,
        max_entries: int = MAX_REPLAY_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> ReplayGuard:
        """Restore persisted state; malformed entries are skipped, not fatal."""
        guard = cls(window, max_entries, clock)
        entries = data.get("entries") if isinstance(data, Mapping) else None
        if not isinstance(entries, list):
            entries = []
        valid = [
            (entry[0], float(entry[1]))
            for entry in entries
            if isinstance(entry, list | tuple)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and isinstance(entry[1], int | float)
        ]
        for key, ts in sorted(valid, key=lambda item: item[1]):
            guard._seen[key] = ts
        guard._expire(clock())
        while len(guard._seen) > max_entries:
            guard._seen.popitem(last=False)
        return guard
