"""How the inbound side makes Bot API calls: one seam, so pacing can be joined later.

Replies to commands, callback answers, setMyCommands, edits and deletes all go through
a `BotCaller`. The default `RetryAfterCaller` honours 429 (`RetryAfter`) the way the
sender does (same `RetryPolicy` limits, same error classification) but does no
proactive pacing; the glue may pass a caller backed by `TelegramBot.async_call` so
these calls share the delivery pacer (see the report of issue 16).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import random
from typing import Any, Protocol

from telegram.error import RetryAfter, TelegramError

from ...pipeline.log import get_logger
from .request import retry_after_seconds
from .sender import (
    ErrorKind,
    RetryPolicy,
    TelegramSendError,
    classify_error,
)

_LOGGER = get_logger(__name__)


class BotCaller(Protocol):
    """Run one Bot API call for a chat (None = not bound to a chat)."""

    async def __call__[T](
        self, chat_id: int | str | None, call: Callable[[], Awaitable[T]]
    ) -> T:
        """Return the call's result or raise `TelegramSendError`."""


class RetryAfterCaller:
    """Retry a call after Telegram's retry_after; retry 5xx/network a few times."""

    def __init__(
        self,
        retry: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        """Use the sender's retry limits unless told otherwise."""
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    async def __call__[T](
        self, chat_id: int | str | None, call: Callable[[], Awaitable[T]]
    ) -> T:
        """Run `call`, waiting out 429 answers within the policy's limits."""
        failures = 0
        rate_limited = 0
        while True:
            try:
                return await call()
            except RetryAfter as err:
                rate_limited += 1
                await self._sleep(self._rate_limit_wait(chat_id, err, rate_limited))
            except TelegramError as err:
                kind = classify_error(err)
                failures += 1
                if kind is not ErrorKind.TRANSIENT or failures >= self._retry.attempts:
                    raise TelegramSendError(err.message, kind) from err
                # Jitter spreads retries, nothing secret.
                jitter = random.random()  # noqa: S311
                await self._sleep(self._retry.delay(failures, None, jitter))

    def _rate_limit_wait(
        self, chat_id: int | str | None, err: RetryAfter, count: int
    ) -> float:
        wait = retry_after_seconds(err)
        if count > self._retry.rate_limit_retries or wait > self._retry.max_retry_after:
            raise TelegramSendError(
                f"rate limited by Telegram (retry after {wait:g} s)",
                ErrorKind.TRANSIENT,
                retry_after=wait,
            ) from err
        _LOGGER.info("Telegram asked to wait %g s (chat %s)", wait, chat_id)
        return wait


__all__ = ["BotCaller", "RetryAfterCaller"]
