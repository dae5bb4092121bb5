"""Telegram target: a bot (pacing, file_id cache) and its chat/topic destinations."""

from __future__ import annotations

from ...pipeline.policy import RetryPolicy
from .bot import TelegramBot
from .delivery import TelegramDestination
from .file_cache import CachedFile, FileIdCache
from .limits import (
    OFFICIAL_LIMITS,
    SELF_HOSTED_LIMITS,
    TELEGRAM_RATE_LIMITS,
    RateLimits,
    TelegramLimits,
    limits_for,
)

__all__ = [
    "OFFICIAL_LIMITS",
    "SELF_HOSTED_LIMITS",
    "TELEGRAM_RATE_LIMITS",
    "CachedFile",
    "FileIdCache",
    "RateLimits",
    "RetryPolicy",
    "TelegramBot",
    "TelegramDestination",
    "TelegramLimits",
    "limits_for",
]
