"""Telegram sender: one `TelegramBot` per bot token, one `TelegramDestination` per chat.

The bot owns what must be shared by every destination it serves: the
python-telegram-bot `Bot`, proactive pacing per chat (so Telegram never has to answer
429), retries, and the file_id cache. A destination turns a `Notification` into Bot
API calls and reports exactly what happened in a `DeliveryResult`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
import html
import itertools
import time
from typing import Any

import aiohttp
import httpx
from telegram import (
    Bot,
    BotCommand,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)

from ...net import (
    DownloadTooLargeError,
    FetchError,
    Resolver,
    UrlPolicy,
    UrlRefusedError,
    async_fetch,
    default_resolver,
)
from ...pipeline.log import get_logger
from ...pipeline.models import (
    DeliveryError,
    DeliveryResult,
    MediaItem,
    MediaType,
    Notification,
    OutputFormat,
    truncate_error,
)
from ...pipeline.policy import exponential_backoff
from .file_cache import FileIdCache
from .limits import (
    TELEGRAM_RATE_LIMITS,
    RateLimits,
    TelegramLimits,
    is_group_chat,
    limits_for,
)
from .media import (
    PreparedMedia,
    SkippedMedia,
    classify,
    content_key,
    format_size,
    html_to_plain,
    plan_groups,
    split_caption,
    split_text,
)
from .request import SharedClientRequest, retry_after_seconds

_LOGGER = get_logger(__name__)

OFFICIAL_API = "https://api.telegram.org"
# Topic 1 is a forum's General topic; Telegram rejects it as message_thread_id.
GENERAL_TOPIC = 1
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
# An item known only by identity whose file_id is not (or no longer) cached.
MEDIA_GONE_REASON = "media no longer available after a restart"
TOO_LARGE_MARKERS = ("request entity too large", "(413)")


class ErrorKind(StrEnum):
    """What a failed call means for the rest of the delivery."""

    # The chat itself refuses (not found, blocked, bad topic): stop, do not retry.
    CHAT = "chat"
    # This content was refused (too large, invalid): other items may still go.
    CONTENT = "content"
    # A cached file_id is no longer valid: upload again.
    STALE_FILE = "stale_file"
    # The HTML did not parse: resend as plain text.
    PARSE = "parse"
    # 5xx, network, timeouts, rate limits beyond what we wait for: may work later.
    TRANSIENT = "transient"


class TelegramSendError(Exception):
    """A Bot API call failed for good (after the retries that made sense)."""

    def __init__(
        self, message: str, kind: ErrorKind, retry_after: float | None = None
    ) -> None:
        """Keep the message, what kind of failure it is and when to try again."""
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after

    @property
    def permanent(self) -> bool:
        """Return whether retrying later cannot help."""
        return self.kind is not ErrorKind.TRANSIENT


def classify_error(err: TelegramError) -> ErrorKind:
    """Map a python-telegram-bot error to what the sender should do about it."""
    text = err.message.lower()
    if isinstance(err, Forbidden | InvalidToken | ChatMigrated):
        return ErrorKind.CHAT
    if isinstance(err, BadRequest):
        return _bad_request_kind(text)
    if isinstance(err, Conflict) or any(m in text for m in TOO_LARGE_MARKERS):
        return ErrorKind.CONTENT
    return ErrorKind.TRANSIENT


def _bad_request_kind(text: str) -> ErrorKind:
    if any(marker in text for marker in STALE_FILE_MARKERS):
        return ErrorKind.STALE_FILE
    if PARSE_MARKER in text:
        return ErrorKind.PARSE
    if any(marker in text for marker in CHAT_MARKERS):
        return ErrorKind.CHAT
    return ErrorKind.CONTENT


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long a failed call is retried."""

    # Tries of one call on 5xx/network errors (the first try included).
    attempts: int = 3
    backoff: float = 1.0
    max_backoff: float = 30.0
    # 429 answers honoured per call; a longer retry_after than this fails the call.
    rate_limit_retries: int = 5
    max_retry_after: float = 120.0

    def delay(self, failures: int) -> float:
        """Return the backoff before retry number `failures` (1-based)."""
        return exponential_backoff(self.backoff, self.max_backoff, failures)


class _Window:
    """Send stamps of a sliding window (a group's minute, the bot's second).

    A send is stamped when it starts (so concurrent chats cannot take the same slot)
    and re-stamped when it completes: Telegram counts a message when it arrives,
    which is at the latest when the answer comes back.
    """

    def __init__(self) -> None:
        self._ids = itertools.count()
        self._stamps: dict[int, float] = {}
        self._pending: set[int] = set()

    def reserve(self, now: float) -> int:
        ticket = next(self._ids)
        self._stamps[ticket] = now
        self._pending.add(ticket)
        return ticket

    def complete(self, ticket: int, now: float) -> None:
        self._stamps[ticket] = now
        self._pending.discard(ticket)

    def wait(self, now: float, size: int, span: float) -> float:
        """Return how long until one more send fits the window."""
        for ticket, stamp in list(self._stamps.items()):
            if ticket not in self._pending and stamp <= now - span:
                del self._stamps[ticket]
        if len(self._stamps) < size:
            return 0.0
        newest = sorted(self._stamps, key=self._stamps.__getitem__, reverse=True)
        deciding = newest[size - 1]
        if deciding in self._pending:
            # Its arrival time is unknown until it completes; look again shortly.
            return span / 100
        return self._stamps[deciding] + span - now


class ChatPacer:
    """Proactive flood control for one bot: waits so Telegram's limits hold.

    Each chat gets a lock so its messages go one at a time and in order; before a send
    the pacer waits for the per-chat interval (counted from the previous send's
    answer), the per-group window and the bot-wide window.
    """

    def __init__(
        self,
        limits: RateLimits,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        """Start with no history."""
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}
        self._blocked: dict[str, float] = {}
        self._groups: dict[str, _Window] = {}
        self._global = _Window()

    @asynccontextmanager
    async def slot(self, chat_id: int | str | None) -> AsyncIterator[None]:
        """Hold the chat's turn for one call; None = a call not bound to a chat."""
        if chat_id is None:
            yield
            return
        key = str(chat_id)
        group = (
            self._groups.setdefault(key, _Window()) if is_group_chat(chat_id) else None
        )
        async with self._locks.setdefault(key, asyncio.Lock()):
            while (wait := self._wait_for(key, group)) > 0:
                await self._sleep(wait)
            # No await between the check above and these reservations, so no other
            # chat can take the same global slot.
            now = self._clock()
            tickets = [
                (window, window.reserve(now))
                for window in (self._global, group)
                if window
            ]
            try:
                yield
            finally:
                done = self._clock()
                self._last[key] = done
                for window, ticket in tickets:
                    window.complete(ticket, done)

    def block(self, chat_id: int | str, seconds: float) -> None:
        """Hold a chat back after Telegram said retry_after."""
        key = str(chat_id)
        until = self._clock() + seconds
        self._blocked[key] = max(self._blocked.get(key, 0.0), until)

    def _wait_for(self, key: str, group: _Window | None) -> float:
        now, limits = self._clock(), self._limits
        waits = [
            self._blocked.get(key, now) - now,
            self._global.wait(now, limits.global_max, limits.global_window),
        ]
        if key in self._last:
            waits.append(self._last[key] + limits.per_chat_interval - now)
        if group is not None:
            waits.append(group.wait(now, limits.group_max, limits.group_window))
        return max(waits)


@dataclass
class CallStats:
    """Counts the API requests of one delivery (single owner, no lock needed)."""

    requests: int = 0
    rate_limited: int = 0


@dataclass(frozen=True, slots=True)
class RecentChat:
    """A chat the bot has seen recently (offered when adding a destination)."""

    chat_id: int
    title: str
    type: str
    message_thread_id: int | None = None


class WebhookActiveError(Exception):
    """getUpdates is unavailable because the bot has a webhook set."""


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
    ) -> None:
        """Configure the bot; no network I/O happens until a call is made."""
        root = (api_base_url or OFFICIAL_API).rstrip("/")
        # Home Assistant's shared httpx client when given (no client of our own, no CA
        # bundle loaded on the event loop); otherwise one owned and closed here.
        self._own_client: httpx.AsyncClient | None = None
        if http_client is None:
            http_client = self._own_client = httpx.AsyncClient()
        client = http_client
        request = SharedClientRequest(client, timeout=request_timeout)
        self.bot = Bot(
            token,
            base_url=f"{root}/bot",
            base_file_url=f"{root}/file/bot",
            request=request,
            get_updates_request=SharedClientRequest(client, timeout=request_timeout),
        )
        self.session = session
        self.limits = limits or limits_for(api_base_url)
        self.retry = retry or RetryPolicy()
        self.cache = file_cache if file_cache is not None else FileIdCache()
        self.url_policy = url_policy or UrlPolicy()
        self.resolver = resolver
        self.download_timeout = download_timeout
        self.pacer = ChatPacer(rate_limits, clock=clock, sleep=sleep)
        self._sleep = sleep

    async def async_start(self) -> None:
        """Open the HTTP client and check the token (getMe)."""
        await self.bot.initialize()

    async def async_close(self) -> None:
        """Close the HTTP client if it is this bot's own."""
        if self._own_client is not None:
            await self._own_client.aclose()

    async def async_get_me(self) -> Any:
        """Return the bot's own user (validates the token)."""
        return await self.async_call(None, self.bot.get_me, CallStats())

    async def async_set_commands(self, commands: Sequence[tuple[str, str]]) -> None:
        """Register bot commands; 429 is honoured here too."""
        payload = [BotCommand(name, description) for name, description in commands]
        await self.async_call(
            None, lambda: self.bot.set_my_commands(payload), CallStats()
        )

    async def async_recent_chats(self) -> list[RecentChat]:
        """Return the chats in pending updates, newest first, without consuming them."""
        try:
            updates = await self.async_call(None, self.bot.get_updates, CallStats())
        except TelegramSendError as err:
            if "webhook is active" in str(err).lower():
                raise WebhookActiveError(str(err)) from err
            raise
        chats: dict[int, RecentChat] = {}
        for update in reversed(updates):
            message = update.effective_message
            chat = update.effective_chat
            if chat is None or chat.id in chats:
                continue
            title = chat.title or chat.username or chat.full_name or str(chat.id)
            thread = message.message_thread_id if message else None
            chats[chat.id] = RecentChat(chat.id, title, chat.type, thread)
        return list(chats.values())

    async def async_download(self, url: str) -> bytes:
        """Fetch a media URL through the outbound guard."""
        result = await async_fetch(
            self.session,
            url,
            max_bytes=self.limits.max_download_bytes,
            policy=self.url_policy,
            budget=self.download_timeout,
            resolver=self.resolver,
        )
        return result.data

    async def async_call[T](
        self,
        chat_id: int | str | None,
        call: Callable[[], Awaitable[T]],
        stats: CallStats,
    ) -> T:
        """Run one Bot API call paced for its chat, retrying what can be retried."""
        failures = 0
        while True:
            try:
                async with self.pacer.slot(chat_id):
                    stats.requests += 1
                    return await call()
            except RetryAfter as err:
                wait = self._on_rate_limited(chat_id, err, stats)
                if chat_id is None:
                    await self._sleep(wait)
            except TelegramError as err:
                kind = classify_error(err)
                failures += 1
                if kind is not ErrorKind.TRANSIENT or failures >= self.retry.attempts:
                    raise TelegramSendError(err.message, kind) from err
                delay = self.retry.delay(failures)
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


def normalize_chat_id(chat_id: int | str) -> int | str:
    """Return a numeric chat id as int; "@channel" names stay text."""
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id).strip()
    try:
        return int(text)
    except ValueError:
        return text if text.startswith("@") else f"@{text}"


def resolve_parse_mode(notification: Notification) -> str | None:
    """Return the parse mode: the caller's, else what the output format implies."""
    requested = notification.parse_mode
    if requested is not None:
        if requested.strip().lower() in ("", "plain", "none", "text"):
            return None
        return requested
    if notification.output_format is OutputFormat.HTML:
        return "HTML"
    if notification.output_format is OutputFormat.MARKDOWN:
        return "MarkdownV2"
    return None


def compose_text(notification: Notification, parse_mode: str | None) -> str:
    """Return title and message as one text (the title bold in HTML)."""
    message = notification.message.strip()
    if not notification.title:
        return message
    title = notification.title.strip()
    if parse_mode == "HTML":
        # Titles are rendered as plain text: escape them, or a "<" or "&" breaks
        # the parse mode and a crafted title could inject markup (links).
        title = f"<b>{html.escape(title, quote=False)}</b>"
    return f"{title}\n{message}".strip()


class TelegramDestination:
    """One chat (or forum topic) of a bot; implements the pipeline's Destination."""

    def __init__(
        self,
        bot: TelegramBot,
        *,
        destination_id: str,
        name: str,
        chat_id: int | str,
        message_thread_id: int | None = None,
        disable_notification: bool = False,
        send_large_videos_as_documents: bool = False,
    ) -> None:
        """Bind a chat of `bot` with this destination's options."""
        self.bot = bot
        self._destination_id = destination_id
        self._name = name
        self.chat_id = normalize_chat_id(chat_id)
        self.message_thread_id = message_thread_id
        self.disable_notification = disable_notification
        self.send_large_videos_as_documents = send_large_videos_as_documents

    @property
    def destination_id(self) -> str:
        """Return the destination subentry id."""
        return self._destination_id

    @property
    def name(self) -> str:
        """Return the name used in summaries."""
        return self._name

    @property
    def output_format(self) -> OutputFormat:
        """Return HTML: Telegram messages are sent with the HTML parse mode."""
        return OutputFormat.HTML

    async def async_deliver(self, notification: Notification) -> DeliveryResult:
        """Deliver text and media; raise DeliveryError when nothing got through."""
        return await _Delivery(self, notification).run()


class _ChatRefused(Exception):
    """The chat refused a call; nothing more is sent to it in this delivery."""


class _Delivery:
    """State of one delivery to one destination (single owner, created per call)."""

    def __init__(self, dest: TelegramDestination, notification: Notification) -> None:
        self.dest = dest
        self.bot = dest.bot
        self.limits = dest.bot.limits
        self.chat_id = dest.chat_id
        self.notification = notification
        self.parse_mode = resolve_parse_mode(notification)
        self.text = compose_text(notification, self.parse_mode)
        self.thread_id = _thread_id(notification, dest)
        self.silent = (
            dest.disable_notification
            if notification.disable_notification is None
            else notification.disable_notification
        )
        self.stats = CallStats()
        self.messages_sent = 0
        self.media_delivered = 0
        self.media_skipped = 0
        self.media_failed = 0
        self.text_failed = False
        self.caption_sent = False
        self.errors: list[str] = []
        self.transient = False
        # The longest wait Telegram asked for, for the outbox's next try.
        self.retry_after: float | None = None

    # ---- outcome -----------------------------------------------------------------

    async def run(self) -> DeliveryResult:
        try:
            if self.notification.media:
                await self._send_with_media()
            elif self.text:
                await self._send_text(self.text)
            else:
                self._error("nothing to send: empty message and no media")
        except _ChatRefused:
            pass
        return self._result()

    def _result(self) -> DeliveryResult:
        if self.messages_sent == 0:
            raise DeliveryError(
                "; ".join(self.errors) or "nothing delivered",
                permanent=not self.transient,
                retry_after=self.retry_after,
            )
        return DeliveryResult(
            destination_id=self.dest.destination_id,
            destination_name=self.dest.name,
            success=not (self.text_failed or self.media_failed),
            messages_sent=self.messages_sent,
            media_delivered=self.media_delivered,
            media_skipped=self.media_skipped,
            media_failed=self.media_failed,
            attempts=max(1, self.stats.requests),
            errors=tuple(truncate_error(e) for e in self.errors),
        )

    def _error(self, text: str) -> None:
        _LOGGER.info("Telegram %s: %s", self.dest.name, text)
        self.errors.append(text)

    def _failed_call(self, what: str, err: TelegramSendError) -> None:
        """Record a failed call; a refusing chat ends the delivery."""
        self._error(f"{what}: {err}")
        if not err.permanent:
            self.transient = True
        if err.retry_after is not None:
            self.retry_after = max(self.retry_after or 0.0, err.retry_after)
        if err.kind is ErrorKind.CHAT:
            raise _ChatRefused from err

    async def _call[T](self, call: Callable[[], Awaitable[T]]) -> T:
        return await self.bot.async_call(self.chat_id, call, self.stats)

    def _common(self) -> dict[str, Any]:
        # Every send path passes these, cached re-sends and albums included.
        return {
            "chat_id": self.chat_id,
            "disable_notification": self.silent,
            "message_thread_id": self.thread_id,
        }

    # ---- text --------------------------------------------------------------------

    async def _send_text(self, text: str) -> None:
        for chunk in split_text(text, self.limits.text_chars):
            try:
                await self._send_text_chunk(chunk)
            except TelegramSendError as err:
                self.text_failed = True
                self._failed_call("text", err)

    async def _send_text_chunk(self, chunk: str) -> None:
        try:
            await self._call(
                lambda: self.bot.bot.send_message(
                    text=chunk, parse_mode=self.parse_mode, **self._common()
                )
            )
        except TelegramSendError as err:
            if err.kind is not ErrorKind.PARSE or self.parse_mode is None:
                raise
            self._error(f"sent as plain text, formatting refused: {err}")
            await self._call(
                lambda: self.bot.bot.send_message(
                    text=html_to_plain(chunk), **self._common()
                )
            )
        self.messages_sent += 1

    # ---- media: preparation --------------------------------------------------------

    async def _send_with_media(self) -> None:
        caption, overflow = split_caption(self.text, self.limits.caption_chars)
        # Downloads run concurrently; the task group cancels the rest if one breaks.
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(self._prepare(index, item))
                for index, item in enumerate(self.notification.media)
            ]
        outcomes = [task.result() for task in tasks]
        prepared = [o for o in outcomes if isinstance(o, PreparedMedia)]
        skipped = [o for o in outcomes if isinstance(o, SkippedMedia)]
        for item in prepared:
            if item.note:
                self._error(f"media {item.index + 1}: {item.note}")
        await self._send_prepared(prepared, caption)
        for item in skipped:
            await self._send_skipped(item)
        if not self.caption_sent:
            if self.text:
                await self._send_text(self.text)
        elif overflow:
            await self._send_text(overflow)

    async def _prepare(
        self, index: int, item: MediaItem, *, use_cache: bool = True
    ) -> PreparedMedia | SkippedMedia | None:
        """Return how to send an item; None when it failed (recorded)."""
        if use_cache and item.identity:
            cached = self.bot.cache.get(content_key(item, None) or "")
            if cached is not None:
                return PreparedMedia(
                    index=index,
                    item=item,
                    kind=MediaType(cached.kind),
                    cache_key=content_key(item, None),
                    filename=item.filename or cached.kind,
                    file_id=cached.file_id,
                )
        data = await self._media_bytes(index, item)
        if isinstance(data, SkippedMedia) or data is None:
            return data
        outcome = classify(
            index,
            item,
            data,
            self.limits,
            large_videos_as_documents=self.dest.send_large_videos_as_documents,
        )
        if use_cache and isinstance(outcome, PreparedMedia) and outcome.cache_key:
            cached = self.bot.cache.get(outcome.cache_key)
            if cached is not None and cached.kind == outcome.kind:
                outcome = replace(outcome, file_id=cached.file_id)
        return outcome

    async def _media_bytes(
        self, index: int, item: MediaItem
    ) -> bytes | SkippedMedia | None:
        if item.data is not None:
            return item.data
        if not item.url:
            if item.identity:
                # Only the identity survived (a queued notification across a
                # restart: bytes are not persisted) and no cached file_id has it.
                return SkippedMedia(index, item, MEDIA_GONE_REASON)
            self._media_failure(index, item, "no URL and no data")
            return None
        try:
            return await self.bot.async_download(item.url)
        except DownloadTooLargeError as err:
            return SkippedMedia(index, item, f"too large for Telegram ({err})")
        except FetchError as err:
            # A refused URL stays refused; a peer that failed may answer later.
            if not isinstance(err, UrlRefusedError):
                self.transient = True
            self._media_failure(index, item, f"download failed: {err}")
            return None

    def _media_failure(self, index: int, item: MediaItem, reason: str) -> None:
        self.media_failed += 1
        self._error(f"media {index + 1} ({item.type}): {reason}")

    # ---- media: sending ------------------------------------------------------------

    async def _send_prepared(self, prepared: list[PreparedMedia], caption: str) -> None:
        for group in plan_groups(prepared, self.limits):
            if len(group) == 1:
                await self._send_single(group[0], self._caption(caption))
            else:
                await self._send_group(group, caption)

    def _caption(self, caption: str) -> str | None:
        """Return the caption for the next send, until one carried it."""
        return None if self.caption_sent or not caption else caption

    async def _send_single(
        self,
        item: PreparedMedia,
        caption: str | None,
        *,
        plain: bool = False,
    ) -> None:
        parse_mode = None if plain else self.parse_mode
        try:
            message = await self._media_call(item, caption, parse_mode)
        except TelegramSendError as err:
            await self._single_failed(item, caption, parse_mode, err)
            return
        self._delivered(item, message)
        if caption:
            self.caption_sent = True

    async def _single_failed(
        self,
        item: PreparedMedia,
        caption: str | None,
        parse_mode: str | None,
        err: TelegramSendError,
    ) -> None:
        if err.kind is ErrorKind.STALE_FILE and item.file_id is not None:
            fresh = await self._reupload_version(item)
            if fresh is not None:
                await self._send_single(fresh, caption, plain=parse_mode is None)
            return
        if err.kind is ErrorKind.PARSE and caption and parse_mode:
            self._error(f"caption sent as plain text, formatting refused: {err}")
            await self._send_single(item, html_to_plain(caption), plain=True)
            return
        self.media_failed += 1
        self._failed_call(f"media {item.index + 1} ({item.item.type})", err)

    async def _reupload_version(self, item: PreparedMedia) -> PreparedMedia | None:
        """Drop a stale file_id and return the item set to upload again."""
        self._error(f"media {item.index + 1}: cached file_id stale, uploading again")
        if item.cache_key:
            self.bot.cache.invalidate(item.cache_key)
        if item.data is not None:
            return item.without_file_id()
        outcome = await self._prepare(item.index, item.item, use_cache=False)
        if isinstance(outcome, SkippedMedia):
            await self._send_skipped(outcome)
            return None
        return outcome

    async def _media_call(
        self, item: PreparedMedia, caption: str | None, parse_mode: str | None
    ) -> Message:
        media: Any = item.file_id if item.file_id is not None else item.data
        kwargs: dict[str, Any] = {
            "caption": caption,
            "parse_mode": parse_mode if caption else None,
            **self._common(),
        }
        if item.file_id is None:
            kwargs["filename"] = item.filename
        bot = self.bot.bot
        if item.kind is MediaType.PHOTO:
            return await self._call(lambda: bot.send_photo(photo=media, **kwargs))
        if item.kind is MediaType.VIDEO:
            return await self._call(
                lambda: bot.send_video(video=media, supports_streaming=True, **kwargs)
            )
        return await self._call(lambda: bot.send_document(document=media, **kwargs))

    async def _send_group(self, group: list[PreparedMedia], caption: str) -> None:
        first_caption = self._caption(caption)
        try:
            messages = await self._group_call(group, first_caption)
        except TelegramSendError as err:
            await self._group_failed(group, first_caption, err)
            return
        for item, message in zip(group, messages, strict=False):
            self._delivered(item, message, count_message=False)
        self.messages_sent += len(messages)
        if first_caption:
            self.caption_sent = True

    async def _group_failed(
        self,
        group: list[PreparedMedia],
        caption: str | None,
        err: TelegramSendError,
    ) -> None:
        if err.kind is ErrorKind.CHAT:
            self.media_failed += len(group)
            self._failed_call("album", err)  # raises: the chat refuses everything
        if err.kind is ErrorKind.STALE_FILE and any(i.file_id for i in group):
            # Upload again what was cached; re-plan, since uploads now count
            # against the album byte budget.
            fresh = [await self._fresh_for_group(item) for item in group]
            await self._send_prepared(
                [i for i in fresh if i is not None], caption or ""
            )
            return
        self._error(f"album failed ({err}); sending its items one by one")
        for item in group:
            await self._send_single(item, self._caption(caption or ""))

    async def _fresh_for_group(self, item: PreparedMedia) -> PreparedMedia | None:
        if item.file_id is None:
            return item
        return await self._reupload_version(item)

    async def _group_call(
        self, group: list[PreparedMedia], caption: str | None
    ) -> tuple[Message, ...]:
        media = [
            _input_media(item, caption if i == 0 else None, self.parse_mode)
            for i, item in enumerate(group)
        ]
        return await self._call(
            lambda: self.bot.bot.send_media_group(media=media, **self._common())
        )

    def _delivered(
        self, item: PreparedMedia, message: Message, *, count_message: bool = True
    ) -> None:
        self.media_delivered += 1
        if count_message:
            self.messages_sent += 1
        if item.file_id is not None or not item.cache_key:
            return
        file_id = _file_id(message, item.kind)
        if file_id is not None:
            size = len(item.data or b"")
            self.bot.cache.put(item.cache_key, file_id, item.kind.value, size)

    # ---- skipped media -------------------------------------------------------------

    async def _send_skipped(self, skipped: SkippedMedia) -> None:
        """Report a skipped item in the chat (thumbnail or link) and the summary."""
        self.media_skipped += 1
        self._error(
            f"media {skipped.index + 1} ({skipped.item.type}) skipped: {skipped.reason}"
        )
        notice, parse_mode = self._skip_notice(skipped)
        try:
            if skipped.item.thumbnail:
                await self._call(
                    lambda: self.bot.bot.send_photo(
                        photo=skipped.item.thumbnail,
                        caption=notice,
                        parse_mode=parse_mode,
                        filename="thumbnail.jpg",
                        **self._common(),
                    )
                )
            else:
                await self._call(
                    lambda: self.bot.bot.send_message(
                        text=notice, parse_mode=parse_mode, **self._common()
                    )
                )
        except TelegramSendError as err:
            self._failed_call(f"notice for skipped media {skipped.index + 1}", err)
            return
        self.messages_sent += 1

    def _skip_notice(self, skipped: SkippedMedia) -> tuple[str, str | None]:
        """Return the notice text and its parse mode (HTML, else plain)."""
        url = skipped.item.url
        what = f"{skipped.item.type} not sent: {skipped.reason}"
        if self.parse_mode != "HTML":
            # Markdown would need its own escaping; plain text is always safe.
            return (f"{what}\n{url}" if url else what), None
        text = html.escape(what)
        if url:
            text += f'\n<a href="{html.escape(url, quote=True)}">Open</a>'
        return text, "HTML"


def _thread_id(notification: Notification, dest: TelegramDestination) -> int | None:
    thread = (
        dest.message_thread_id
        if notification.message_thread_id is None
        else notification.message_thread_id
    )
    # The General topic is addressed by sending without a thread id.
    return None if thread in (None, GENERAL_TOPIC) else thread


def _input_media(
    item: PreparedMedia, caption: str | None, parse_mode: str | None
) -> InputMediaPhoto | InputMediaVideo | InputMediaDocument:
    media: Any = item.file_id if item.file_id is not None else item.data
    filename = None if item.file_id is not None else item.filename
    kwargs: dict[str, Any] = {
        "caption": caption,
        "parse_mode": parse_mode if caption else None,
        "filename": filename,
    }
    if item.kind is MediaType.PHOTO:
        return InputMediaPhoto(media, **kwargs)
    if item.kind is MediaType.VIDEO:
        return InputMediaVideo(media, supports_streaming=True, **kwargs)
    return InputMediaDocument(media, **kwargs)


def _file_id(message: Message, kind: MediaType) -> str | None:
    if kind is MediaType.PHOTO:
        return message.photo[-1].file_id if message.photo else None
    attachment = message.video if kind is MediaType.VIDEO else message.document
    return attachment.file_id if attachment is not None else None


__all__ = [
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
    "format_size",
]
