"""Media of Immich events: bounded downloads, shared between the routes of one poll.

Bytes are handed to targets as `MediaItem`s with an identity (`immich:<asset>:<variant>`)
so a target's upload cache (the Telegram `file_id` cache) hits on re-sends.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
import logging
from pathlib import PurePosixPath

from ...pipeline.models import MediaItem, MediaType
from .client import (
    AssetDetails,
    AssetType,
    ImmichAuthError,
    ImmichClient,
    ImmichError,
    ImmichMediaTooLargeError,
    MediaVariant,
)
from .events import asset_url, media_item
from .routes import RouteConfig

_LOGGER = logging.getLogger(__name__)

# Per item: stills stay small; videos and originals up to the Bot API upload cap.
MAX_STILL_BYTES = 20 * 1024 * 1024
MAX_LARGE_BYTES = 50 * 1024 * 1024
# Per event, across its items: bounds the memory one notification can hold.
MAX_EVENT_BYTES = 100 * 1024 * 1024
DOWNLOAD_CONCURRENCY = 4
# Renditions that are the video itself; any other rendition of a video is a still.
VIDEO_VARIANTS = frozenset({MediaVariant.ORIGINAL, MediaVariant.PLAYBACK})


def byte_bound(variant: MediaVariant) -> int:
    """Return the largest download accepted for a rendition."""
    if variant in (MediaVariant.THUMBNAIL, MediaVariant.PREVIEW):
        return MAX_STILL_BYTES
    return MAX_LARGE_BYTES


def variant_for_type(media_type: MediaType) -> MediaVariant:
    """Return the rendition the `send` action fetches for a requested media type."""
    if media_type is MediaType.VIDEO:
        return MediaVariant.PLAYBACK
    if media_type is MediaType.DOCUMENT:
        return MediaVariant.ORIGINAL
    return MediaVariant.PREVIEW


def is_video(asset: AssetDetails, variant: MediaVariant) -> bool:
    """Return whether a rendition of an asset is a video (not a still of one)."""
    return asset.type is AssetType.VIDEO and variant in VIDEO_VARIANTS


def _still_name(asset: AssetDetails) -> str | None:
    if not asset.file_name:
        return None
    return f"{PurePosixPath(asset.file_name).stem}.jpg"


class MediaFetcher:
    """Downloads renditions for one batch of events; each one at most once.

    A video comes with its thumbnail (`MediaItem.thumbnail`) and its link in Immich
    (`MediaItem.url`), so a target that cannot take the video (over its size
    limit) shows the still with the link instead. A video over this source's own
    download bound is replaced by that still, with the link.
    """

    def __init__(self, client: ImmichClient, *, web_url: str | None = None) -> None:
        """Start with an empty cache; `web_url` roots the asset links."""
        self._client = client
        self._web_url = web_url or client.base_url
        self._cache: dict[tuple[str, MediaVariant], MediaItem | None] = {}
        self._limit = asyncio.Semaphore(DOWNLOAD_CONCURRENCY)
        # Videos whose download exceeded the byte bound (their still goes instead).
        self._too_large: set[str] = set()
        # Set when the server refused the key; the caller starts reauth.
        self.auth_failed = False

    async def async_for_route(
        self, route: RouteConfig, assets: tuple[AssetDetails, ...]
    ) -> tuple[MediaItem, ...]:
        """Return the media a route sends for added assets, bounded in count and bytes."""
        wanted = [
            (asset, variant)
            for asset in assets
            if (variant := route.media_variant(asset)) is not None
        ][: route.max_media]
        items = await asyncio.gather(
            *(self._async_fetch(asset, variant) for asset, variant in wanted)
        )
        kept: list[MediaItem] = []
        total = 0
        for item in items:
            if item is None or item.data is None:
                continue
            size = len(item.data) + len(item.thumbnail or b"")
            if total + size > MAX_EVENT_BYTES:
                _LOGGER.debug("Media budget of one event reached; rest left out")
                break
            total += size
            kept.append(item)
        return tuple(kept)

    async def _async_fetch(
        self, asset: AssetDetails, variant: MediaVariant
    ) -> MediaItem | None:
        key = (asset.id, variant)
        if key in self._cache:
            return self._cache[key]
        async with self._limit:
            item = await self._async_download(asset, variant)
        if is_video(asset, variant):
            # Outside the slot: the still is one more download (cached per poll).
            item = await self._async_with_still(asset, item)
        self._cache[key] = item
        return item

    async def _async_with_still(
        self, asset: AssetDetails, video: MediaItem | None
    ) -> MediaItem | None:
        """Attach the thumbnail and link to a video, or stand in for one too big."""
        if video is None and asset.id not in self._too_large:
            return None  # the download failed (logged): nothing to stand in for
        still = await self._async_fetch(asset, MediaVariant.THUMBNAIL)
        link = asset_url(self._web_url, asset.id)
        if video is not None:
            return replace(
                video, url=link, thumbnail=None if still is None else still.data
            )
        if still is None:
            return None
        return replace(still, url=link, filename=_still_name(asset))

    async def _async_download(
        self, asset: AssetDetails, variant: MediaVariant
    ) -> MediaItem | None:
        try:
            blob = await self._client.async_download(
                asset.id, variant, max_bytes=byte_bound(variant)
            )
        except ImmichAuthError:
            self.auth_failed = True
            return None
        except ImmichMediaTooLargeError as err:
            if is_video(asset, variant):
                self._too_large.add(asset.id)
                _LOGGER.info(
                    "Video %s sent as its thumbnail and link: %s", asset.id, err
                )
            else:
                _LOGGER.warning("Media of %s not sent: %s", asset.id, err)
            return None
        except ImmichError as err:
            # The notification still goes out, without this item.
            _LOGGER.warning("Media of %s not sent: %s", asset.id, err)
            return None
        return media_item(asset, blob)


async def async_fetch_one(
    client: ImmichClient, asset_id: str, media_type: MediaType
) -> MediaItem:
    """Download one asset for the `send` action; raises ImmichError subclasses."""
    variant = variant_for_type(media_type)
    blob = await client.async_download(asset_id, variant, max_bytes=byte_bound(variant))
    asset_type = AssetType.VIDEO if media_type is MediaType.VIDEO else AssetType.IMAGE
    item = media_item(
        AssetDetails(
            id=asset_id,
            type=asset_type,
            file_name="",
            taken_at=None,
            owner_id="",
            owner_name=None,
            description=None,
            people=(),
            city=None,
            country=None,
            favorite=False,
            rating=None,
            updated_at="",
            ready=True,
        ),
        blob,
    )
    if media_type is MediaType.DOCUMENT:
        return MediaItem(
            type=MediaType.DOCUMENT, data=item.data, identity=item.identity
        )
    if media_type is MediaType.VIDEO:
        # As from a poll: the still and link a target shows if the video is too big.
        return replace(
            item,
            thumbnail=await _async_still(client, asset_id),
            url=asset_url(client.base_url, asset_id),
            filename=f"{asset_id}.mp4",
        )
    return item


async def _async_still(client: ImmichClient, asset_id: str) -> bytes | None:
    """Return an asset's thumbnail, or None when it cannot be had (best effort)."""
    variant = MediaVariant.THUMBNAIL
    try:
        blob = await client.async_download(
            asset_id, variant, max_bytes=byte_bound(variant)
        )
    except ImmichError as err:
        _LOGGER.debug("No thumbnail of %s: %s", asset_id, err)
        return None
    return blob.data
