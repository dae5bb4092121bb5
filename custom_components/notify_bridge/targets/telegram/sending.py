"""Media part of a Telegram delivery: prepare items, upload once, albums, notices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
import html
from typing import TYPE_CHECKING, Any, Protocol

from telegram import (
    InputFile,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
)

from ...net import DownloadTooLargeError, FetchError, UrlRefusedError
from ...pipeline.i18n import text as i18n_text
from ...pipeline.models import MediaItem, MediaType
from .errors import ErrorKind, TelegramSendError
from .media import (
    PreparedMedia,
    SkippedMedia,
    classify,
    content_key,
    plan_groups,
)
from .spool import SpooledFile
from .text import HTML, html_to_plain, split_caption

if TYPE_CHECKING:
    from .bot import TelegramBot
    from .limits import TelegramLimits
    from .prepare import PreparedMediaSet

# An item known only by identity whose file_id is not (or no longer) cached.
MEDIA_GONE_REASON = "media no longer available after a restart"
# What an upload of one item is given: a file_id, bytes, or a file to stream.
MediaOf = Callable[..., Any]


class ChatOptions(Protocol):
    """What media sending reads of its destination (a TelegramDestination)."""

    send_large_videos_as_documents: bool

    @property
    def text_language(self) -> str:
        """The language of built-in texts in the chat (skipped-media notices)."""


class MediaSending:
    """Sends the media of one delivery; mixed into `_Delivery` (state lives there)."""

    bot: TelegramBot
    dest: ChatOptions
    limits: TelegramLimits
    notification: Any
    prepared: PreparedMediaSet | None
    parse_mode: str | None
    text: str
    caption_sent: bool
    messages_sent: int
    media_delivered: int
    media_skipped: int
    media_failed: int
    transient: bool
    # Temporary files of downloads made during the delivery (removed by its end).
    spooled: list[SpooledFile]

    if TYPE_CHECKING:  # defined by `_Delivery`; declared here for its result type

        async def call[T](
            self, make: Callable[[dict[str, Any]], Awaitable[T]], *, weight: int = 1
        ) -> T:
            """Run one send with the chat's common fields; return its result."""

    error: Callable[[str], None]
    failed_call: Callable[[str, TelegramSendError], None]
    formatting_refused: Callable[[str, TelegramSendError], None]
    send_text: Callable[[str], Awaitable[None]]
    sent: Callable[[Any], None]
    take_markup: Callable[[], Any]

    @property
    def html_mode(self) -> bool:
        """Return whether text goes out as Telegram HTML."""
        return self.parse_mode == HTML

    # ---- preparation -------------------------------------------------------------

    async def send_with_media(self) -> None:
        caption, overflow = split_caption(
            self.text, self.limits.caption_chars, html_mode=self.html_mode
        )
        # Downloads were made in `async_prepare`; what is left (no preparation, a
        # retry) runs concurrently, and the task group cancels the rest if one breaks.
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
                self.error(f"media {item.index + 1}: {item.note}")
        # A lone photo carrying the whole text carries the buttons too; otherwise
        # they go on the text sent after the media (albums cannot carry them).
        self._markup_on_media = len(prepared) == 1 and not skipped and not overflow
        await self._send_prepared(prepared, caption)
        for skip in skipped:
            await self._send_skipped(skip)
        if not self.caption_sent:
            if self.text:
                await self.send_text(self.text)
        elif overflow:
            await self.send_text(overflow)

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
        data = await self._media_bytes(index, item, use_prepared=use_cache)
        if isinstance(data, SkippedMedia) or data is None:
            return data
        outcome = classify(
            index,
            item,
            data,
            self.limits,
            large_videos_as_documents=self.dest.send_large_videos_as_documents,
        )
        return self._with_cached(outcome) if use_cache else outcome

    def _with_cached[M: (PreparedMedia | SkippedMedia)](self, outcome: M) -> M:
        """Return the item set to its cached file_id, when Telegram has it."""
        if not isinstance(outcome, PreparedMedia) or not outcome.cache_key:
            return outcome
        if outcome.file_id is not None:
            return outcome
        cached = self.bot.cache.get(outcome.cache_key)
        if cached is not None and cached.kind == outcome.kind:
            return replace(outcome, file_id=cached.file_id)
        return outcome

    async def _media_bytes(
        self, index: int, item: MediaItem, *, use_prepared: bool = True
    ) -> bytes | SpooledFile | SkippedMedia | None:
        if item.data is not None:
            return item.data
        if not item.url:
            if item.identity:
                # Only the identity survived (a queued notification across a
                # restart: bytes are not persisted) and no cached file_id has it.
                return SkippedMedia(index, item, MEDIA_GONE_REASON, "media.reason.gone")
            self._media_failure(index, item, "no URL and no data")
            return None
        ready = (
            self.prepared.get(index, item) if self.prepared and use_prepared else None
        )
        try:
            return await self._download(item.url, ready)
        except DownloadTooLargeError as err:
            return SkippedMedia(index, item, f"too large for Telegram ({err})")
        except FetchError as err:
            # A refused URL stays refused; a peer that failed may answer later.
            if not isinstance(err, UrlRefusedError):
                self.transient = True
            self._media_failure(index, item, f"download failed: {err}")
            return None

    async def _download(
        self, url: str, ready: bytes | SpooledFile | FetchError | None
    ) -> bytes | SpooledFile:
        """Return what `async_prepare` fetched (or raise its error), else fetch now."""
        if isinstance(ready, FetchError):
            raise ready
        if ready is not None:
            return ready
        body = await self.bot.async_download(url)
        if isinstance(body, SpooledFile):
            self.spooled.append(body)
        return body

    def _media_failure(self, index: int, item: MediaItem, reason: str) -> None:
        self.media_failed += 1
        self.error(f"media {index + 1} ({item.type}): {reason}")

    # ---- uploads shared between chats ----------------------------------------------

    async def _share_uploads(
        self, items: list[PreparedMedia]
    ) -> tuple[list[PreparedMedia], list[str]]:
        """Wait for uploads of the same content by other chats, claim the rest.

        Returns the items (set to file_ids that arrived meanwhile) and the keys this
        delivery now uploads; release them once the call is done.
        """
        keys = [i.cache_key for i in items if i.file_id is None and i.cache_key]
        if await self.bot.uploads.wait_for(keys):
            items = [self._with_cached(item) for item in items]
            keys = [i.cache_key for i in items if i.file_id is None and i.cache_key]
        return items, self.bot.uploads.claim(keys)

    # ---- sending -----------------------------------------------------------------

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
        self, item: PreparedMedia, caption: str | None, *, plain: bool = False
    ) -> None:
        parse_mode = None if plain else self.parse_mode
        (item,), claimed = await self._share_uploads([item])
        failure: TelegramSendError | None = None
        try:
            message = await self._media_call(item, caption, parse_mode)
            self._delivered(item, message)
            self.sent(message)
        except TelegramSendError as err:
            failure = err
        finally:
            # Released whatever happens (a cancelled delivery included), and before
            # a retry of the same content would wait for it.
            self.bot.uploads.release(claimed)
        if failure is not None:
            await self._single_failed(item, caption, parse_mode, failure)
        elif caption:
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
            self.formatting_refused("caption", err)
            plain = html_to_plain(caption) if self.html_mode else caption
            await self._send_single(item, plain, plain=True)
            return
        if err.kind is not ErrorKind.UNCONFIRMED:
            self.media_failed += 1
        self.failed_call(f"media {item.index + 1} ({item.item.type})", err)

    async def _reupload_version(self, item: PreparedMedia) -> PreparedMedia | None:
        """Drop a stale file_id and return the item set to upload again."""
        self.error(f"media {item.index + 1}: cached file_id stale, uploading again")
        if item.cache_key:
            self.bot.cache.invalidate(item.cache_key)
        if item.data is not None or item.file is not None:
            return item.without_file_id()
        outcome = await self._prepare(item.index, item.item, use_cache=False)
        if isinstance(outcome, SkippedMedia):
            await self._send_skipped(outcome)
            return None
        return outcome

    async def _media_call(
        self, item: PreparedMedia, caption: str | None, parse_mode: str | None
    ) -> Message:
        async with _upload_sources([item]) as media_of:
            return await self._media_send(item, caption, parse_mode, media_of)

    async def _media_send(
        self,
        item: PreparedMedia,
        caption: str | None,
        parse_mode: str | None,
        media_of: MediaOf,
    ) -> Message:
        kwargs: dict[str, Any] = {
            "caption": caption,
            "parse_mode": parse_mode if caption else None,
        }
        if item.file_id is None:
            kwargs["filename"] = item.filename
        if caption and getattr(self, "_markup_on_media", False):
            kwargs["reply_markup"] = self.take_markup()
        bot = self.bot.bot
        # `media_of` is called per attempt: a file is read again from its start.
        if item.kind is MediaType.PHOTO:
            return await self.call(
                lambda c: bot.send_photo(photo=media_of(item), **kwargs, **c)
            )
        if item.kind is MediaType.VIDEO:
            return await self.call(
                lambda c: bot.send_video(
                    video=media_of(item), supports_streaming=True, **kwargs, **c
                )
            )
        return await self.call(
            lambda c: bot.send_document(document=media_of(item), **kwargs, **c)
        )

    async def _send_group(self, group: list[PreparedMedia], caption: str) -> None:
        first_caption = self._caption(caption)
        group, claimed = await self._share_uploads(group)
        try:
            messages = await self._group_call(group, first_caption)
            for item, message in zip(group, messages, strict=False):
                self._delivered(item, message, count_message=False)
                self.sent(message)
        except TelegramSendError as err:
            failure: TelegramSendError | None = err
        else:
            failure = None
        finally:
            self.bot.uploads.release(claimed)
        if failure is not None:
            await self._group_failed(group, first_caption, failure)
            return
        self.messages_sent += len(messages)
        if first_caption:
            self.caption_sent = True

    async def _group_failed(
        self, group: list[PreparedMedia], caption: str | None, err: TelegramSendError
    ) -> None:
        if err.kind in (ErrorKind.CHAT, ErrorKind.MIGRATED, ErrorKind.UNCONFIRMED):
            if err.kind is not ErrorKind.UNCONFIRMED:
                self.media_failed += len(group)
            self.failed_call("album", err)  # the chat refuses, or it may have arrived
            return
        if err.kind is ErrorKind.STALE_FILE and any(i.file_id for i in group):
            # Upload again what was cached; re-plan, since uploads now count
            # against the album byte budget.
            fresh = [await self._fresh_for_group(item) for item in group]
            await self._send_prepared(
                [i for i in fresh if i is not None], caption or ""
            )
            return
        self.error(f"album failed ({err}); sending its items one by one")
        for item in group:
            await self._send_single(item, self._caption(caption or ""))

    async def _fresh_for_group(self, item: PreparedMedia) -> PreparedMedia | None:
        if item.file_id is None:
            return item
        return await self._reupload_version(item)

    async def _group_call(
        self, group: list[PreparedMedia], caption: str | None
    ) -> tuple[Message, ...]:
        def media(media_of: MediaOf) -> list[Any]:
            return [
                _input_media(
                    item, caption if i == 0 else None, self.parse_mode, media_of
                )
                for i, item in enumerate(group)
            ]

        async with _upload_sources(group) as media_of:
            # Telegram counts every item of an album as one message of the chat.
            return await self.call(
                lambda c: self.bot.bot.send_media_group(media=media(media_of), **c),
                weight=len(group),
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
            size = item.file.size if item.file else len(item.data or b"")
            self.bot.cache.put(item.cache_key, file_id, item.kind.value, size)

    # ---- skipped media -------------------------------------------------------------

    async def _send_skipped(self, skipped: SkippedMedia) -> None:
        """Report a skipped item in the chat (thumbnail or link) and the summary."""
        self.media_skipped += 1
        self.error(
            f"media {skipped.index + 1} ({skipped.item.type}) skipped: {skipped.reason}"
        )
        notice, parse_mode = self._skip_notice(skipped)
        bot = self.bot.bot
        # Bound first: a lambda does not keep the narrowing of an attribute.
        thumbnail = skipped.item.thumbnail
        try:
            if thumbnail:
                try:
                    await self.call(
                        lambda c: bot.send_photo(
                            photo=thumbnail,
                            caption=notice,
                            parse_mode=parse_mode,
                            filename="thumbnail.jpg",
                            **c,
                        )
                    )
                    self.messages_sent += 1
                    return
                except TelegramSendError as err:
                    if err.kind is not ErrorKind.CONTENT:
                        raise
                    # The still was refused; the notice and its link still go out.
                    self.error(f"thumbnail of media {skipped.index + 1} refused: {err}")
            await self.call(
                lambda c: bot.send_message(text=notice, parse_mode=parse_mode, **c)
            )
        except TelegramSendError as err:
            self.failed_call(f"notice for skipped media {skipped.index + 1}", err)
            return
        self.messages_sent += 1

    def _skip_notice(self, skipped: SkippedMedia) -> tuple[str, str | None]:
        """Return the notice text and its parse mode (HTML, else plain)."""
        url = skipped.item.url
        what = skipped.notice(self.dest.text_language)
        if not self.html_mode:
            # Markdown would need its own escaping; plain text is always safe.
            return (f"{what}\n{url}" if url else what), None
        text = html.escape(what)
        if url:
            label = html.escape(i18n_text("media.open", self.dest.text_language))
            text += f'\n<a href="{html.escape(url, quote=True)}">{label}</a>'
        return text, "HTML"


@asynccontextmanager
async def _upload_sources(items: Sequence[PreparedMedia]) -> AsyncIterator[MediaOf]:
    """Yield what to upload for each item; files are streamed, never read whole.

    A spooled file is opened (in a worker thread) for the call and closed after;
    each attempt rewinds it, so a retried upload sends the whole file again.
    """
    handles = {
        item.index: await item.file.open()
        for item in items
        if item.file_id is None and item.file is not None
    }

    def media_of(item: PreparedMedia, attach: bool = False) -> Any:
        if item.file_id is not None:
            return item.file_id
        handle = handles.get(item.index)
        if handle is None:
            return item.data
        handle.seek(0)
        # In an album a file is a part the media list points at (attach://).
        return InputFile(
            handle, filename=item.filename, attach=attach, read_file_handle=False
        )

    try:
        yield media_of
    finally:
        for handle in handles.values():
            await asyncio.to_thread(handle.close)


def _input_media(
    item: PreparedMedia, caption: str | None, parse_mode: str | None, media_of: MediaOf
) -> InputMediaPhoto | InputMediaVideo | InputMediaDocument:
    media: Any = media_of(item, True)
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
