"""Secrets never reach a log line, whichever logger writes it.

Bot API URLs carry the bot token in their path (`/bot<id>:<secret>/sendMessage`), and
every HTTP library logs request URLs: httpx at INFO, and on Home Assistant 2026.11
`httpx` is an alias of `httpx2`, which logs under its own name. A filter on a list of
logger names misses the next rename, and a logger's filter does not see records of its
children. So redaction happens where every record is born: a log record factory that
rewrites the message (and a formatted traceback) before any handler or filter sees it.

Only records that are actually emitted are built (a disabled level costs nothing), and
the factory is installed with the first secret (the first Telegram bot).
"""

from __future__ import annotations

from collections.abc import Callable
import logging
import re
import threading
import traceback
from typing import Any

MASK = "***"
# A bot token inside a Bot API URL, registered or not (another bot, a pasted URL).
TOKEN_IN_URL_RE = re.compile(r"/(file/)?bot\d+:[A-Za-z0-9_-]+")
# Shorter values are too likely to occur in ordinary text to be masked everywhere.
MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_secrets: set[str] = set()
# Longest first, so a whole token is masked before its secret part is.
_ordered: tuple[str, ...] = ()
_previous_factory: Callable[..., logging.LogRecord] | None = None


def redact_text(text: str) -> str:
    """Return `text` with every registered secret and Bot API token masked."""
    if "/bot" in text or "/file/bot" in text:
        text = TOKEN_IN_URL_RE.sub(rf"/\1bot{MASK}", text)
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def register_secret(secret: str) -> None:
    """Mask `secret` in every log record from now on, for the life of the process.

    A bot token registers the whole token and its secret part (error texts may quote
    either). Secrets stay registered after their entry is gone: a late log line of a
    closed client must not print them either.
    """
    parts = {part for part in _parts(secret) if len(part) >= MIN_SECRET_LENGTH}
    global _ordered  # noqa: PLW0603 - one process-wide registry
    with _lock:
        _secrets.update(parts)
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))
        _install()


def _parts(secret: str) -> tuple[str, ...]:
    # "<bot id>:<secret>": the id alone is public (it is the bot's user id).
    if ":" in secret:
        return (secret, secret.split(":", 1)[1])
    return (secret,)


def _install() -> None:
    """Wrap the current record factory once (idempotent, keeps any earlier factory)."""
    global _previous_factory  # noqa: PLW0603 - one process-wide factory
    if _previous_factory is not None:
        return
    _previous_factory = logging.getLogRecordFactory()
    previous = _previous_factory

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _ordered or _may_hold_token(record):
            _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)


def _may_hold_token(record: logging.LogRecord) -> bool:
    # Unregistered tokens only matter in URLs; cheap check before formatting.
    return "bot" in str(record.msg) or any(
        isinstance(arg, str) and "/bot" in arg for arg in _args(record)
    )


def _args(record: logging.LogRecord) -> tuple[Any, ...]:
    args = record.args
    if isinstance(args, tuple):
        return args
    return tuple(args.values()) if isinstance(args, dict) else ()


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken record is the logging module's to report
        return
    redacted = redact_text(message)
    if redacted != message:
        record.msg = redacted
        record.args = ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = redact_text(text)
        if clean != text:
            # Formatters use exc_text when it is set; the traceback object stays for
            # tools that walk frames, its text is what gets written.
            record.exc_text = clean
            record.exc_info = None
