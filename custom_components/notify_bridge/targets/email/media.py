"""Which media go into a mail (inline images, attachments) and which are only linked.

Decided before anything is sent: photos the mail client can show become inline
images (`cid:`), other files attachments; videos are never attached (a link, and the
still if the source gave one), and nothing is attached beyond the per-message budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from email.utils import make_msgid
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import aiohttp

from ...net import (
    DownloadTooLargeError,
    FetchError,
    Resolver,
    UrlPolicy,
    UrlRefusedError,
    async_fetch,
    default_resolver,
)
from ...pipeline.models import MediaItem, MediaType
from ..telegram.media import format_size
from .settings import DEFAULT_DOWNLOAD_BUDGET, one_line

# Fetches a media URL (through the SSRF guard) with a byte bound: (url, max_bytes).
Download = Callable[[str, int], Awaitable[bytes]]

# What a queued notification keeps after a restart (bytes are not persisted).
MEDIA_GONE_REASON = "media no longer available after a restart"
VIDEO_REASON = "videos are sent as links"
# Image types mail clients display inline, by their first bytes.
_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
# A small table instead of `mimetypes` (whose first use reads files from disk).
_DOCUMENT_TYPES = {
    ".pdf": ("application", "pdf"),
    ".txt": ("text", "plain"),
    ".csv": ("text", "csv"),
    ".json": ("application", "json"),
    ".zip": ("application", "zip"),
    ".heic": ("image", "heic"),
    ".webp": ("image", "webp"),
}
DEFAULT_NAMES = {
    MediaType.PHOTO: "photo",
    MediaType.VIDEO: "video.mp4",
    MediaType.DOCUMENT: "document.bin",
}


@dataclass(frozen=True, slots=True)
class MailPart:
    """Bytes that go into the mail; `cid` set means shown inline in the HTML."""

    index: int
    item: MediaItem
    data: bytes = field(repr=False)
    maintype: str
    subtype: str
    filename: str
    cid: str | None = None


@dataclass(frozen=True, slots=True)
class LinkedMedia:
    """A media item left out of the mail (skipped), linked when it has a URL."""

    index: int
    item: MediaItem
    reason: str
    # A still shown in its place (a video's thumbnail), inline.
    still: MailPart | None = None


@dataclass(slots=True)
class MediaPlan:
    """What a mail carries, leaves out and could not get."""

    parts: list[MailPart] = field(default_factory=list)
    linked: list[LinkedMedia] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # A download failed in a way that may work later.
    transient: bool = False
    # Why an item that does not fit is left out.
    over_budget: str = "over the per-message budget"

    @property
    def inline(self) -> list[MailPart]:
        """Return the images shown inline (stills of linked videos included)."""
        stills = [link.still for link in self.linked if link.still is not None]
        return [p for p in self.parts if p.cid] + stills

    @property
    def attachments(self) -> list[MailPart]:
        """Return the parts only attached."""
        return [p for p in self.parts if not p.cid]

    @property
    def attached_bytes(self) -> int:
        """Return the raw bytes of everything in the mail."""
        stills = [link.still for link in self.linked if link.still is not None]
        return sum(len(part.data) for part in (*self.parts, *stills))


def url_downloader(
    session: aiohttp.ClientSession,
    policy: UrlPolicy,
    *,
    resolver: Resolver = default_resolver,
    budget: float = DEFAULT_DOWNLOAD_BUDGET,
) -> Download:
    """Return a `Download` through the SSRF-guarded fetcher (as Telegram uses)."""

    async def download(url: str, max_bytes: int) -> bytes:
        result = await async_fetch(
            session,
            url,
            max_bytes=max_bytes,
            policy=policy,
            budget=budget,
            resolver=resolver,
        )
        return result.data

    return download


def image_subtype(data: bytes) -> str | None:
    """Return the image subtype mail clients show inline, from the first bytes."""
    for magic, subtype in _IMAGE_MAGIC:
        if data.startswith(magic):
            return subtype
    return None


def filename_for(item: MediaItem, index: int, subtype: str | None = None) -> str:
    """Return a safe file name: the item's, the URL's last segment, or a default."""
    name = item.filename or (urlsplit(item.url).path if item.url else "")
    # Only the last path segment, one line: event data picks these names.
    name = one_line(PurePosixPath(name.replace("\\", "/")).name)[:100]
    if not name:
        name = f"{DEFAULT_NAMES[item.type]}-{index + 1}"
        if subtype:
            name += f".{'jpg' if subtype == 'jpeg' else subtype}"
    return name


def make_part(index: int, item: MediaItem, data: bytes, domain: str) -> MailPart:
    """Return how the bytes go in: an inline image or an attachment."""
    subtype = image_subtype(data) if item.type is not MediaType.VIDEO else None
    filename = filename_for(item, index, subtype)
    if subtype is not None:
        cid = make_msgid(idstring=f"img{index + 1}", domain=domain)[1:-1]
        return MailPart(index, item, data, "image", subtype, filename, cid)
    maintype, sub = _DOCUMENT_TYPES.get(
        PurePosixPath(filename).suffix.lower(), ("application", "octet-stream")
    )
    return MailPart(index, item, data, maintype, sub, filename)


def _still(index: int, item: MediaItem, data: bytes, domain: str) -> MailPart | None:
    """Return a video's still as an inline image (None if it is not one)."""
    subtype = image_subtype(data)
    if subtype is None:
        return None
    cid = make_msgid(idstring=f"still{index + 1}", domain=domain)[1:-1]
    ext = "jpg" if subtype == "jpeg" else subtype
    return MailPart(
        index, item, data, "image", subtype, f"still-{index + 1}.{ext}", cid
    )


async def async_plan_media(
    items: Sequence[MediaItem],
    *,
    budget: int,
    domain: str,
    download: Download | None,
    download_budget: float = DEFAULT_DOWNLOAD_BUDGET,
) -> MediaPlan:
    """Fetch what must be fetched and decide every item, in order, within `budget`."""
    plan = MediaPlan(over_budget=f"over the {format_size(budget)} per-message budget")
    remaining = budget
    try:
        async with asyncio.timeout(download_budget):
            for index, item in enumerate(items):
                remaining -= await _plan_item(
                    plan,
                    index,
                    item,
                    remaining=remaining,
                    domain=domain,
                    download=download,
                )
    except TimeoutError:
        done = len(plan.parts) + len(plan.linked) + len(plan.failures)
        plan.transient = True
        plan.failures.extend(
            f"media {i + 1} ({items[i].type}): downloads took longer than "
            f"{download_budget:g} s"
            for i in range(done, len(items))
        )
    return plan


async def _plan_item(
    plan: MediaPlan,
    index: int,
    item: MediaItem,
    *,
    remaining: int,
    domain: str,
    download: Download | None,
) -> int:
    """Decide one item; return the budget bytes it used."""
    if item.type is MediaType.VIDEO:
        still = None
        if item.thumbnail and len(item.thumbnail) <= remaining:
            still = _still(index, item, item.thumbnail, domain)
        plan.linked.append(LinkedMedia(index, item, VIDEO_REASON, still))
        return len(still.data) if still else 0
    data = item.data
    if data is None:
        data = await _fetch(plan, index, item, remaining, download)
        if data is None:
            return 0
    if len(data) > remaining:
        reason = f"{format_size(len(data))}, {plan.over_budget}"
        plan.linked.append(LinkedMedia(index, item, reason))
        return 0
    plan.parts.append(make_part(index, item, data, domain))
    return len(data)


async def _fetch(
    plan: MediaPlan,
    index: int,
    item: MediaItem,
    remaining: int,
    download: Download | None,
) -> bytes | None:
    """Download an item's URL; record why not (skipped or failed) and return None."""
    if not item.url:
        if item.identity:
            plan.linked.append(LinkedMedia(index, item, MEDIA_GONE_REASON))
        else:
            plan.failures.append(f"media {index + 1} ({item.type}): no URL and no data")
        return None
    if remaining <= 0 or download is None:
        reason = plan.over_budget if remaining <= 0 else "no downloader configured"
        plan.linked.append(LinkedMedia(index, item, reason))
        return None
    try:
        return await download(item.url, remaining)
    except DownloadTooLargeError:
        plan.linked.append(LinkedMedia(index, item, plan.over_budget))
    except FetchError as err:
        # A refused URL stays refused; a peer that failed may answer later.
        plan.transient = plan.transient or not isinstance(err, UrlRefusedError)
        plan.failures.append(f"media {index + 1} ({item.type}): download failed: {err}")
    return None
