"""Media downloads of a delivery, done before it waits for its turn.

A slow media server must not hold a destination's lock or a process-wide send slot,
so the pipeline asks a destination to prepare first; the delivery then only uploads.
Items Telegram already has (a cached file_id) and items with bytes are not fetched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...net import FetchError
from ...pipeline.models import MediaItem
from .bot import TelegramBot
from .media import content_key
from .spool import SpooledFile

Download = bytes | SpooledFile | FetchError


@dataclass(slots=True)
class PreparedMediaSet:
    """What was downloaded for the media of one notification, by position."""

    items: tuple[MediaItem, ...] = ()
    downloads: dict[int, Download] = field(default_factory=dict)

    def get(self, index: int, item: MediaItem) -> Download | None:
        """Return the download of an item, if this set prepared that very item."""
        if index >= len(self.items) or self.items[index] is not item:
            return None
        return self.downloads.get(index)

    async def async_release(self) -> None:
        """Drop what was downloaded; temporary files are removed."""
        downloads, self.downloads = self.downloads, {}
        for download in downloads.values():
            if isinstance(download, SpooledFile):
                await download.remove()


async def async_prepare_media(
    bot: TelegramBot, media: Sequence[MediaItem]
) -> PreparedMediaSet:
    """Download every item that needs its bytes, concurrently; never raises for one."""
    prepared = PreparedMediaSet(items=tuple(media))
    wanted = [
        (index, item)
        for index, item in enumerate(media)
        if item.data is None and item.url and not _cached(bot, item)
    ]
    if not wanted:
        return prepared
    results = await asyncio.gather(*(_fetch(bot, item.url or "") for _, item in wanted))
    for (index, _), result in zip(wanted, results, strict=True):
        prepared.downloads[index] = result
    return prepared


def _cached(bot: TelegramBot, item: MediaItem) -> bool:
    key = content_key(item, None)
    return key is not None and key in bot.cache


async def _fetch(bot: TelegramBot, url: str) -> Download:
    try:
        return await bot.async_download(url)
    except FetchError as err:
        return err
