"""Telegram Bot API limits, in one table.

The official server (api.telegram.org) enforces the upload sizes below; a self-hosted
Bot API server (`api_base_url`) lifts the upload limits, so those come from options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TelegramLimits:
    """Sizes and counts the Bot API accepts; checked before anything is sent."""

    photo_bytes: int = 10 * MB
    # sendPhoto: width + height must not exceed this ...
    photo_dimensions_sum: int = 10_000
    # ... and the longer side at most this many times the shorter.
    photo_side_ratio: float = 20.0
    video_bytes: int = 50 * MB
    document_bytes: int = 50 * MB
    caption_chars: int = 1024
    text_chars: int = 4096
    media_group_min: int = 2
    media_group_max: int = 10
    # Bytes uploaded in one sendMediaGroup request.
    media_group_bytes: int = 45 * MB

    @property
    def max_download_bytes(self) -> int:
        """Return the largest file any send path could still deliver."""
        return max(self.photo_bytes, self.video_bytes, self.document_bytes)


# A download is kept in memory up to this size (every photo Telegram accepts fits);
# beyond it, it is streamed to a temporary file and uploaded from there, written
# in blocks of SPOOL_WRITE_BYTES. So one media item holds at most the sum of both
# in memory, whatever the upload limit (2000 MB on a self-hosted server).
MEDIA_MEMORY_BYTES = 10 * MB
SPOOL_WRITE_BYTES = 1 * MB

OFFICIAL_LIMITS = TelegramLimits()
# A self-hosted Bot API server accepts uploads up to 2000 MB; photos are still
# re-encoded by Telegram, so their limits stay.
SELF_HOSTED_LIMITS = replace(
    OFFICIAL_LIMITS,
    video_bytes=2000 * MB,
    document_bytes=2000 * MB,
    media_group_bytes=2000 * MB,
)


def limits_for(
    api_base_url: str | None, overrides: Mapping[str, int | float] | None = None
) -> TelegramLimits:
    """Return the limits for a bot: official, or self-hosted with option overrides."""
    base = SELF_HOSTED_LIMITS if api_base_url else OFFICIAL_LIMITS
    known = {item.name for item in fields(TelegramLimits)}
    # Any: the fields are ints and floats, which replace() checks one by one.
    changes: dict[str, Any] = {
        k: v for k, v in (overrides or {}).items() if k in known and v
    }
    return replace(base, **changes)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """How fast a bot may send (Telegram's published flood limits)."""

    # One message per second to the same chat.
    per_chat_interval: float = 1.0
    # At most `group_max` messages per `group_window` seconds to the same group.
    group_max: int = 20
    group_window: float = 60.0
    # At most `global_max` messages per `global_window` seconds across all chats.
    global_max: int = 30
    global_window: float = 1.0

    def scaled(self, factor: float) -> RateLimits:
        """Return the same limits with every duration multiplied (for benchmarks)."""
        return replace(
            self,
            per_chat_interval=self.per_chat_interval * factor,
            group_window=self.group_window * factor,
            global_window=self.global_window * factor,
        )


TELEGRAM_RATE_LIMITS = RateLimits()


def is_group_chat(chat_id: int | str) -> bool:
    """Return whether a chat gets the per-group limit (groups, channels by name)."""
    if isinstance(chat_id, int):
        return chat_id < 0
    text = str(chat_id)
    return text.startswith(("-", "@"))
