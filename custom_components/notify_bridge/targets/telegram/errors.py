"""What a failed Bot API call means: one classification for every request backend.

python-telegram-bot raises `TelegramError` subclasses. Besides Telegram's own answers
(400, 403, 429, 5xx) a call can fail in transport, and there the question that
matters is whether the request may already have reached Telegram: a send whose answer
was lost may have been delivered, so it must not be sent again. The answer is read
from the exception chain (PTB's `HTTPXRequest` and any request class built on httpx
raise `TimedOut`/`NetworkError` from the httpx exception), so it holds for both.
"""

from __future__ import annotations

from enum import StrEnum

import httpx
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    TelegramError,
    TimedOut,
)

STALE_FILE_MARKERS = ("wrong file identifier", "wrong file_id", "file reference")
CHAT_MARKERS = (
    "chat not found",
    "message thread not found",
    "bot was blocked",
    "bot was kicked",
    "bot is not a member",
    "not enough rights",
    "have no rights",
    "user is deactivated",
    "chat_write_forbidden",
)
PARSE_MARKER = "can't parse entities"
TOO_LARGE_MARKERS = ("request entity too large", "(413)")
# Transport failures that happen before a byte of the request left: safe to resend.
NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# The same, as PTB names them in messages when the cause is not chained.
NOT_SENT_MARKERS = ("httpx.connecterror", "httpx.connecttimeout", "pool timeout")


class ErrorKind(StrEnum):
    """What a failed call means for the rest of the delivery."""

    # The chat itself refuses (not found, blocked, bad topic): stop, do not retry.
    CHAT = "chat"
    # The group became a supergroup: send again to `migrate_to`.
    MIGRATED = "migrated"
    # This content was refused (too large, invalid): other items may still go.
    CONTENT = "content"
    # A cached file_id is no longer valid: upload again.
    STALE_FILE = "stale_file"
    # The HTML did not parse: resend as plain text.
    PARSE = "parse"
    # The request may have reached Telegram but no answer came back: resending
    # could deliver it twice, so it is reported as unconfirmed instead.
    UNCONFIRMED = "unconfirmed"
    # 5xx, connection refused, rate limits beyond what we wait for: may work later.
    TRANSIENT = "transient"


class TelegramSendError(Exception):
    """A Bot API call failed for good (after the retries that made sense)."""

    def __init__(
        self,
        message: str,
        kind: ErrorKind,
        retry_after: float | None = None,
        migrate_to: int | None = None,
    ) -> None:
        """Keep the message, what kind of failure it is and when to try again."""
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.migrate_to = migrate_to

    @property
    def permanent(self) -> bool:
        """Return whether retrying later cannot help (or could duplicate)."""
        return self.kind is not ErrorKind.TRANSIENT


def classify_error(err: TelegramError) -> ErrorKind:
    """Map a python-telegram-bot error to what the sender should do about it."""
    text = err.message.lower()
    if isinstance(err, ChatMigrated):
        return ErrorKind.MIGRATED
    if isinstance(err, Forbidden | InvalidToken):
        return ErrorKind.CHAT
    # BadRequest subclasses NetworkError in PTB: it is an answer, test it first.
    if isinstance(err, BadRequest):
        return _bad_request_kind(text)
    if isinstance(err, Conflict) or any(m in text for m in TOO_LARGE_MARKERS):
        return ErrorKind.CONTENT
    if is_transport_error(err) and may_have_been_sent(err):
        return ErrorKind.UNCONFIRMED
    return ErrorKind.TRANSIENT


def _bad_request_kind(text: str) -> ErrorKind:
    if any(marker in text for marker in STALE_FILE_MARKERS):
        return ErrorKind.STALE_FILE
    if PARSE_MARKER in text:
        return ErrorKind.PARSE
    if any(marker in text for marker in CHAT_MARKERS):
        return ErrorKind.CHAT
    return ErrorKind.CONTENT


def _chain(err: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_transport_error(err: TelegramError) -> bool:
    """Return whether no answer came back (timeout, connection), not a 5xx answer.

    PTB raises a bare `NetworkError` for 5xx answers; transport failures are
    `TimedOut`, or chained to an httpx error, or carry httpx's class name.
    """
    if isinstance(err, TimedOut):
        return True
    if not isinstance(err, NetworkError):
        return False
    return err.message.lower().startswith("httpx.") or any(
        isinstance(cause, httpx.HTTPError) for cause in _chain(err)
    )


def may_have_been_sent(err: BaseException) -> bool:
    """Return whether a failed request may have reached Telegram.

    Only failures known to happen before sending (connect, pool) say no; a read or
    write timeout, a dropped connection or an unknown cause may follow delivery.
    """
    if any(isinstance(cause, NOT_SENT_ERRORS) for cause in _chain(err)):
        return False
    text = str(getattr(err, "message", err)).lower()
    return not any(marker in text for marker in NOT_SENT_MARKERS)


__all__ = [
    "ErrorKind",
    "TelegramSendError",
    "classify_error",
    "is_transport_error",
    "may_have_been_sent",
]
