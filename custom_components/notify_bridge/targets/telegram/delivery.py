"""One `TelegramDestination` per chat: a `Notification` becomes Bot API calls.

A delivery reports exactly what happened in a `DeliveryResult`: what went out, what
was skipped or failed, and what is unconfirmed (sent, but Telegram's answer was lost,
so it is never sent again). Media downloads happen in `async_prepare`, before the
pipeline takes the destination's turn and a send slot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters

from ...pipeline.i18n import resolve_language
from ...pipeline.log import get_logger
from ...pipeline.models import (
    Button,
    DeliveryError,
    DeliveryResult,
    Notification,
    OutputFormat,
    truncate_error,
)
from .bot import CallStats, TelegramBot
from .errors import ErrorKind, TelegramSendError
from .media import format_size
from .prepare import PreparedMediaSet, async_prepare_media
from .sending import MediaSending
from .spool import SpooledFile
from .text import (
    compose_text,
    html_to_plain,
    resolve_parse_mode,
    split_text,
)

_LOGGER = get_logger(__name__)

# Topic 1 is a forum's General topic; Telegram rejects it as message_thread_id.
GENERAL_TOPIC = 1
# Called with (destination_id, new_chat_id) when a group became a supergroup, so the
# owner can store the new chat id (HA-free: the glue provides the callback).
ChatMigratedCallback = Callable[[str, int], None]
# Called after every delivery that put something into the chat (the glue keeps a
# history for /latest and the message ids for edits).
DeliveredCallback = Callable[[Notification, DeliveryResult], None]


def normalize_chat_id(chat_id: int | str) -> int | str:
    """Return a numeric chat id as int; "@channel" names stay text."""
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id).strip()
    try:
        return int(text)
    except ValueError:
        return text if text.startswith("@") else f"@{text}"


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
        on_chat_migrated: ChatMigratedCallback | None = None,
        on_delivered: DeliveredCallback | None = None,
        language: str | None = None,
        default_language: str | Callable[[], str] | None = None,
    ) -> None:
        """Bind a chat of `bot` with this destination's options."""
        self.bot = bot
        self.destination_id = destination_id
        self.name = name
        self.chat_id = normalize_chat_id(chat_id)
        self.message_thread_id = message_thread_id
        self.disable_notification = disable_notification
        self.send_large_videos_as_documents = send_large_videos_as_documents
        self.on_chat_migrated = on_chat_migrated
        self.on_delivered = on_delivered
        # The readers' language (None: Home Assistant's), read by the pipeline.
        self.language = language
        self._default_language = default_language
        self._migrated = False

    @property
    def text_language(self) -> str:
        """Return the language of the bridge's own texts in this chat."""
        fallback = self._default_language
        return resolve_language(
            self.language, fallback() if callable(fallback) else fallback
        )

    @property
    def output_format(self) -> OutputFormat:
        """Return HTML: Telegram messages are sent with the HTML parse mode."""
        return OutputFormat.HTML

    def migrate(self, new_chat_id: int) -> None:
        """Use the supergroup's chat id from now on (Telegram said the group moved)."""
        if self.chat_id == new_chat_id:
            return
        _LOGGER.warning(
            "Telegram group of %s became a supergroup: chat id %s is now %s",
            self.name,
            self.chat_id,
            new_chat_id,
        )
        self.chat_id = new_chat_id
        self._migrated = True

    async def async_prepare(self, notification: Notification) -> PreparedMediaSet:
        """Download the notification's media now, before any lock or send slot."""
        return await async_prepare_media(self.bot, notification.media)

    async def async_deliver(
        self, notification: Notification, prepared: PreparedMediaSet | None = None
    ) -> DeliveryResult:
        """Deliver text and media; raise DeliveryError when nothing got through."""
        try:
            result = await _Delivery(self, notification, prepared).run()
            if self.on_delivered is not None:
                self.on_delivered(notification, result)
            return result
        finally:
            # Told once the delivery is over: storing the new id may reload the
            # owner, which must not cut this delivery short.
            if self._migrated:
                self._migrated = False
                if self.on_chat_migrated is not None:
                    self.on_chat_migrated(self.destination_id, int(self.chat_id))


class _ChatRefused(Exception):
    """The chat refused a call; nothing more is sent to it in this delivery."""


class _Delivery(MediaSending):
    """State of one delivery to one destination (single owner, created per call)."""

    dest: TelegramDestination  # more than the `ChatOptions` media sending reads

    def __init__(
        self,
        dest: TelegramDestination,
        notification: Notification,
        prepared: PreparedMediaSet | None,
    ) -> None:
        self.dest = dest
        self.bot = dest.bot
        self.limits = dest.bot.limits
        self.notification = notification
        self.prepared = prepared
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
        self.unconfirmed = 0
        self.text_failed = False
        # Formatting refused and sent as plain text: delivered, but not as asked.
        self.degraded = False
        self.caption_sent = False
        self.errors: list[str] = []
        self.message_ids: list[int] = []
        # Buttons go on the last text message, or on a single media message that
        # carries the whole text; the first message answers `reply_to`.
        self.markup = reply_markup(notification.buttons)
        self.reply_parameters = (
            ReplyParameters(notification.reply_to, allow_sending_without_reply=True)
            if notification.reply_to is not None
            else None
        )
        self.spooled: list[SpooledFile] = []
        self.transient = False
        # The longest wait Telegram asked for, for the outbox's next try.
        self.retry_after: float | None = None

    # ---- outcome -----------------------------------------------------------------

    async def run(self) -> DeliveryResult:
        try:
            if self.notification.media:
                await self.send_with_media()
            elif self.text:
                await self.send_text(self.text)
            else:
                self.error("nothing to send: empty message and no media")
        except _ChatRefused:
            pass
        finally:
            # Temporary files of downloads made here never outlive the delivery.
            for spooled in self.spooled:
                await spooled.remove()
        return self._result()

    def _result(self) -> DeliveryResult:
        if self.messages_sent == 0 and self.unconfirmed == 0:
            raise DeliveryError(
                "; ".join(self.errors) or "nothing delivered",
                permanent=not self.transient,
                retry_after=self.retry_after,
            )
        failed = self.text_failed or self.media_failed or self.unconfirmed
        return DeliveryResult(
            destination_id=self.dest.destination_id,
            destination_name=self.dest.name,
            success=not (failed or self.degraded),
            messages_sent=self.messages_sent,
            media_delivered=self.media_delivered,
            media_skipped=self.media_skipped,
            media_failed=self.media_failed,
            unconfirmed=self.unconfirmed,
            attempts=max(1, self.stats.requests),
            errors=tuple(truncate_error(e) for e in self.errors),
            message_ids=tuple(self.message_ids),
        )

    def error(self, text: str) -> None:
        _LOGGER.info("Telegram %s: %s", self.dest.name, text)
        self.errors.append(text)

    def failed_call(self, what: str, err: TelegramSendError) -> None:
        """Record a failed call; a refusing chat ends the delivery."""
        self.error(f"{what}: {err}")
        if err.kind is ErrorKind.UNCONFIRMED:
            self.unconfirmed += 1
        elif not err.permanent:
            self.transient = True
        if err.retry_after is not None:
            self.retry_after = max(self.retry_after or 0.0, err.retry_after)
        if err.kind in (ErrorKind.CHAT, ErrorKind.MIGRATED):
            raise _ChatRefused from err

    async def call[T](
        self, make: Callable[[dict[str, Any]], Awaitable[T]], *, weight: int = 1
    ) -> T:
        """Run a send with this chat's common fields; follow one group migration."""
        try:
            return await self._paced(make, weight)
        except TelegramSendError as err:
            # Followed once per call: a chat that keeps "moving" is refused.
            if err.kind is not ErrorKind.MIGRATED or not isinstance(
                err.migrate_to, int
            ):
                raise
            self.dest.migrate(err.migrate_to)
            return await self._paced(make, weight)

    async def _paced[T](
        self, make: Callable[[dict[str, Any]], Awaitable[T]], weight: int
    ) -> T:
        # The chat id is read at call time: a migration changes it between tries.
        common = {
            "chat_id": self.dest.chat_id,
            "disable_notification": self.silent,
            "message_thread_id": self.thread_id,
            "reply_parameters": None if self.message_ids else self.reply_parameters,
        }
        return await self.bot.async_call(
            self.dest.chat_id, lambda: make(common), self.stats, weight=weight
        )

    # ---- text --------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        chunks = split_text(text, self.limits.text_chars, html_mode=self.html_mode)
        for index, chunk in enumerate(chunks):
            markup = self.take_markup() if index == len(chunks) - 1 else None
            try:
                await self._send_text_chunk(chunk, markup)
            except TelegramSendError as err:
                self.text_failed = True
                self.failed_call("text", err)

    async def _send_text_chunk(
        self, chunk: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        bot = self.bot.bot
        try:
            message = await self.call(
                lambda common: bot.send_message(
                    text=chunk,
                    parse_mode=self.parse_mode,
                    reply_markup=markup,
                    **common,
                )
            )
        except TelegramSendError as err:
            if err.kind is not ErrorKind.PARSE or self.parse_mode is None:
                raise
            self.formatting_refused("text", err)
            plain = html_to_plain(chunk) if self.html_mode else chunk
            message = await self.call(
                lambda common: bot.send_message(
                    text=plain, reply_markup=markup, **common
                )
            )
        self.messages_sent += 1
        self.sent(message)

    def sent(self, message: Any) -> None:
        """Keep the id of a message put into the chat."""
        message_id = getattr(message, "message_id", None)
        if isinstance(message_id, int):
            self.message_ids.append(message_id)

    def take_markup(self) -> InlineKeyboardMarkup | None:
        """Return the buttons for the message about to be sent, once."""
        markup, self.markup = self.markup, None
        return markup

    def formatting_refused(self, what: str, err: TelegramSendError) -> None:
        """Note a parse-mode refusal: the plain resend is delivered, not as asked."""
        self.degraded = True
        self.error(f"{what} sent as plain text, formatting refused: {err}")


def reply_markup(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Return Telegram's inline keyboard for rows of buttons (None without any)."""
    keyboard = [
        [
            InlineKeyboardButton(button.text, url=button.url)
            if button.url
            else InlineKeyboardButton(button.text, callback_data=button.action)
            for button in row
        ]
        for row in rows
        if row
    ]
    return InlineKeyboardMarkup(keyboard) if keyboard else None


def _thread_id(notification: Notification, dest: TelegramDestination) -> int | None:
    thread = (
        dest.message_thread_id
        if notification.message_thread_id is None
        else notification.message_thread_id
    )
    # The General topic is addressed by sending without a thread id.
    return None if thread in (None, GENERAL_TOPIC) else thread


__all__ = [
    "ChatMigratedCallback",
    "DeliveredCallback",
    "TelegramDestination",
    "format_size",
    "normalize_chat_id",
]
