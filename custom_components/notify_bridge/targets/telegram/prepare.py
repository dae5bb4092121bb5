"""Media downloads of a delivery, done before it waits for its turn.

A slow media server must not hold a destination's lock or a process-wide send slot,
so the pipeline asks a destination to prepare first; the delivery then only uploads.
Items Telegram already has (a cached file_id) and items with bytes are not fetched,
and deliveries of one bot share a download of the same URL (`downloads.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...net import FetchError
from ...pipeline.models import MediaItem
from .bot import TelegramBot
from .downloads import SharedDownloads
from .media import content_key
from .spool import SpooledFile

Download = bytes | SpooledFile | FetchError


@dataclass(slots=True)
class PreparedMediaSet:
    """What was downloaded for the media of one notification, by position."""

    items: tuple[MediaItem, ...] = ()
    downloads: dict[int, Download] = field(default_factory=dict)
    # The shared downloads this set holds (released with it).
    shared: SharedDownloads | None = None
    urls: list[str] = field(default_factory=list)

    def get(self, index: int, item: MediaItem) -> Download | None:
        """Return the download of an item, if this set prepared that very item."""
        if index >= len(self.items) or self.items[index] is not item:
            return None
        return self.downloads.get(index)

    async def async_release(self) -> None:
        """Let go of what was downloaded; the last holder removes temporary files."""
        urls, self.urls, self.downloads = self.urls, [], {}
        if self.shared is not None:
            for url in urls:
                await self.shared.release(url)


async def async_prepare_media(
    bot: TelegramBot, media: Sequence[MediaItem]
) -> PreparedMediaSet:
    """Download every item that needs its bytes, concurrently; never raises for one."""
    prepared = PreparedMediaSet(items=tuple(media), shared=bot.downloads)
    wanted = [
        (index, item.url)
        for index, item in enumerate(media)
        if item.data is None and item.url and not _cached(bot, item)
    ]
    if not wanted:
        return prepared
    try:
        results = await asyncio.gather(
            *(_fetch(prepared, bot.downloads, url) for _, url in wanted)
        )
    except BaseException:
        await prepared.async_release()
        raise
    for (index, _), result in zip(wanted, results, strict=True):
        prepared.downloads[index] = result
    return prepared


def _cached(bot: TelegramBot, item: MediaItem) -> bool:
    key = content_key(item, None)
    return key is not None and key in bot.cache


async def _fetch(
    prepared: PreparedMediaSet, shared: SharedDownloads, url: str
) -> Download:
    # Recorded in the same step as `acquire` takes its hold (no await between), so
    # exactly what was acquired is released, even when cancelled early.
    prepared.urls.append(url)
    try:
        return await shared.acquire(url)
    except FetchError as err:
        return err
