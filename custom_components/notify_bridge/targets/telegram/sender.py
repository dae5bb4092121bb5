"""The Telegram sender's public names, gathered from the modules that define them.

- `bot.py`: `TelegramBot` (PTB `Bot`, call retries, file_id cache, shared uploads)
- `pacing.py`: `ChatPacer` (Telegram's flood limits, counted in messages)
- `errors.py`: what a failed call means (`ErrorKind`, `classify_error`)
- `delivery.py` / `sending.py` / `prepare.py`: one delivery to one chat
- `text.py`: parse modes, titles, cutting text, the plain-text fallback
"""

from __future__ import annotations

from ...pipeline.policy import RetryPolicy
from .bot import CallStats, RecentChat, TelegramBot, WebhookActiveError
from .delivery import GENERAL_TOPIC, TelegramDestination, normalize_chat_id
from .errors import ErrorKind, TelegramSendError, classify_error
from .media import format_size
from .pacing import ChatPacer
from .request import retry_after_seconds
from .text import compose_text, resolve_parse_mode

__all__ = [
    "GENERAL_TOPIC",
    "CallStats",
    "ChatPacer",
    "ErrorKind",
    "RecentChat",
    "RetryPolicy",
    "TelegramBot",
    "TelegramDestination",
    "TelegramSendError",
    "WebhookActiveError",
    "classify_error",
    "compose_text",
    "format_size",
    "normalize_chat_id",
    "resolve_parse_mode",
    "retry_after_seconds",
]
