"""One `TelegramBot` per bot token: what every destination of the bot shares.

The python-telegram-bot `Bot`, proactive pacing per chat, the call retries (the
integration's one `RetryPolicy`), the file_id cache, and the uploads in flight: when
two chats get the same new file at once, the second waits for the first upload's
file_id instead of uploading the bytes again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
import random
import time
from typing import Any

import aiohttp
import httpx
from telegram import Bot, BotCommand
from telegram.error import RetryAfter, TelegramError

from ...net import Resolver, UrlPolicy, async_fetch, default_resolver
from ...pipeline.log import get_logger
from ...pipeline.policy import RetryPolicy
from .chats import RecentChat, SeenChats
from .downloads import SharedDownloads
from .errors import (
    ErrorKind,
    TelegramSendError,
    classify_error,
)
from .file_cache import FileIdCache
from .limits import TELEGRAM_RATE_LIMITS, RateLimits, TelegramLimits, limits_for
from .pacing import ChatPacer
from .request import SharedClientRequest, retry_after_seconds
from .spool import Spool, SpooledFile

_LOGGER = get_logger(__name__)

OFFICIAL_API = "https://api.telegram.org"


@dataclass
class CallStats:
    """Counts the API requests of one delivery (single owner, no lock needed)."""

    requests: int = 0
    rate_limited: int = 0


class WebhookActiveError(Exception):
    """getUpdates is unavailable because the bot has a webhook set."""


class UploadsInFlight:
    """Content keys being uploaded right now, so concurrent chats upload once.

    A delivery first waits for every key of its next call that someone else is
    uploading, then claims the rest without awaiting in between; it never waits
    while holding a claim, so two deliveries cannot wait for each other.
    """

    def __init__(self) -> None:
        """Start with nothing in flight."""
        self._uploads: dict[str, asyncio.Future[None]] = {}

    async def wait_for(self, keys: Sequence[str]) -> bool:
        """Wait until none of `keys` is in flight; return whether any was."""
        waited = False
        while pending := [self._uploads[k] for k in keys if k in self._uploads]:
            waited = True
            await asyncio.wait(pending)
        return waited

    def claim(self, keys: Sequence[str]) -> list[str]:
        """Mark keys as uploading (those nobody else uploads); return them."""
        loop = asyncio.get_running_loop()
        claimed = [k for k in dict.fromkeys(keys) if k not in self._uploads]
        for key in claimed:
            self._uploads[key] = loop.create_future()
        return claimed

    def release(self, keys: Sequence[str]) -> None:
        """End the uploads (done or failed); waiters look at the cache again."""
        for key in keys:
            future = self._uploads.pop(key, None)
            if future is not None and not future.done():
                future.set_result(None)


class TelegramBot:
    """One bot token: the PTB `Bot`, pacing, retries and the file_id cache."""

    def __init__(
        self,
        token: str,
        *,
        session: aiohttp.ClientSession,
        http_client: httpx.AsyncClient | None = None,
        api_base_url: str | None = None,
        limits: TelegramLimits | None = None,
        rate_limits: RateLimits = TELEGRAM_RATE_LIMITS,
        retry: RetryPolicy | None = None,
        file_cache: FileIdCache | None = None,
        url_policy: UrlPolicy | None = None,
        resolver: Resolver = default_resolver,
        download_timeout: float = 60.0,
        request_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """Configure the bot; no network I/O happens until a call is made."""
        root = (api_base_url or OFFICIAL_API).rstrip("/")
        # Home Assistant's shared httpx client when given (no client of our own, no CA
        # bundle loaded on the event loop); otherwise one owned and closed here.
        self._own_client: httpx.AsyncClient | None = None
        if http_client is None:
            http_client = self._own_client = httpx.AsyncClient()
        self.bot = Bot(
            token,
            base_url=f"{root}/bot",
            base_file_url=f"{root}/file/bot",
            request=SharedClientRequest(http_client, timeout=request_timeout),
            get_updates_request=SharedClientRequest(
                http_client, timeout=request_timeout
            ),
        )
        self.session = session
        self.limits = limits or limits_for(api_base_url)
        self.retry = retry or RetryPolicy()
        self.cache = file_cache if file_cache is not None else FileIdCache()
        self.uploads = UploadsInFlight()
        self.downloads = SharedDownloads(self.async_download)
        self.url_policy = url_policy or UrlPolicy()
        self.resolver = resolver
        self.download_timeout = download_timeout
        self.pacer = ChatPacer(rate_limits, clock=clock, sleep=sleep)
        # The chats the receiver saw (the chat form's suggestions while it runs).
        self.seen_chats = SeenChats()
        self._sleep = sleep
        self._jitter = jitter

    async def async_start(self) -> None:
        """Open the HTTP client and check the token (getMe)."""
        await self.bot.initialize()

    async def async_close(self) -> None:
        """Close the HTTP client if it is this bot's own."""
        if self._own_client is not None:
            await self._own_client.aclose()

    async def async_get_me(self) -> Any:
        """Return the bot's own user (validates the token)."""
        return await self.async_call(
            None, self.bot.get_me, CallStats(), idempotent=True
        )

    async def async_set_commands(self, commands: Sequence[tuple[str, str]]) -> None:
        """Register bot commands; 429 is honoured here too."""
        payload = [BotCommand(name, description) for name, description in commands]
        await self.async_call(
            None,
            lambda: self.bot.set_my_commands(payload),
            CallStats(),
            idempotent=True,
        )

    async def async_recent_chats(self) -> list[RecentChat]:
        """Return the chats the bot has seen, newest first: from its receiver while
        one runs (getUpdates would compete with it), else from pending updates,
        without consuming them."""
        if self.seen_chats.receiving:
            return self.seen_chats.recent()
        try:
            updates = await self.async_call(
                None, self.bot.get_updates, CallStats(), idempotent=True
            )
        except TelegramSendError as err:
            if "webhook is active" in str(err).lower():
                raise WebhookActiveError(str(err)) from err
            raise
        chats = SeenChats()
        for update in updates:
            chats.add(update)
        return chats.recent()

    async def async_download(self, url: str) -> bytes | SpooledFile:
        """Fetch a media URL through the outbound guard.

        Up to MEDIA_MEMORY_BYTES it stays in memory; a larger body is streamed to a
        temporary file the caller must remove. A failed or cancelled download
        leaves no file behind.
        """
        spool = Spool()
        try:
            await async_fetch(
                self.session,
                url,
                max_bytes=self.limits.max_download_bytes,
                policy=self.url_policy,
                budget=self.download_timeout,
                resolver=self.resolver,
                sink=spool.write,
            )
            return await spool.finish()
        except BaseException:
            await spool.discard()
            raise

    async def async_call[T](
        self,
        chat_id: int | str | None,
        call: Callable[[], Awaitable[T]],
        stats: CallStats,
        *,
        weight: int = 1,
        idempotent: bool = False,
    ) -> T:
        """Run one Bot API call paced for its chat, retrying what can be retried.

        `weight` is how many messages the call posts (an album counts each item). A
        call that is not `idempotent` (every send) is never repeated once it may
        have reached Telegram: that fails as UNCONFIRMED instead.
        """
        failures = 0
        while True:
            try:
                async with self.pacer.slot(chat_id, weight):
                    stats.requests += 1
                    return await call()
            except RetryAfter as err:
                wait = self._on_rate_limited(chat_id, err, stats)
                if chat_id is None:
                    await self._sleep(wait)
            except TelegramError as err:
                failures += 1
                await self._after_failure(err, failures, idempotent)

    async def _after_failure(
        self, err: TelegramError, failures: int, idempotent: bool
    ) -> None:
        """Raise when the call must not be repeated; else wait the backoff."""
        kind = classify_error(err)
        if kind is ErrorKind.UNCONFIRMED and idempotent:
            kind = ErrorKind.TRANSIENT
        if kind is not ErrorKind.TRANSIENT or failures >= self.retry.attempts:
            raise TelegramSendError(
                _describe(err, kind),
                kind,
                migrate_to=getattr(err, "new_chat_id", None),
            ) from err
        delay = self.retry.delay(failures, None, self._jitter())
        _LOGGER.debug("Telegram call failed (%s), retry in %.2fs", err, delay)
        await self._sleep(delay)

    def _on_rate_limited(
        self, chat_id: int | str | None, err: RetryAfter, stats: CallStats
    ) -> float:
        """Count a 429 and hold the chat back; return how long to wait."""
        wait = retry_after_seconds(err)
        stats.rate_limited += 1
        # The next slot of this chat waits; other chats go on.
        if chat_id is not None:
            self.pacer.block(chat_id, wait)
        if stats.rate_limited > self.retry.rate_limit_retries or (
            wait > self.retry.max_retry_after
        ):
            # Too long to wait inside one delivery: the outbox retries after `wait`.
            raise TelegramSendError(
                f"rate limited by Telegram (retry after {wait:g} s)",
                ErrorKind.TRANSIENT,
                retry_after=wait,
            ) from err
        _LOGGER.warning("Telegram asked to wait %g s for chat %s", wait, chat_id)
        return wait


def _describe(err: TelegramError, kind: ErrorKind) -> str:
    if kind is ErrorKind.UNCONFIRMED:
        return (
            f"unconfirmed: no answer from Telegram ({err.message or type(err).__name__}); "
            "it may have been delivered, so it was not sent again"
        )
    return err.message


__all__ = [
    "CallStats",
    "RecentChat",
    "TelegramBot",
    "UploadsInFlight",
    "WebhookActiveError",
]
