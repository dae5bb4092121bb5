"""What to send for each media item, and how text and albums are cut to fit.

Everything here decides before anything is sent: which method an item goes with
(photo, video, document, or skipped with a reason) and how items are grouped into
albums that Telegram accepts. Text is cut in `text.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
import hashlib
import io
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from ...pipeline.i18n import text
from ...pipeline.models import MediaItem, MediaType
from .limits import TelegramLimits
from .spool import SpooledFile, body_size

DEFAULT_FILENAMES = {
    MediaType.PHOTO: "photo.jpg",
    MediaType.VIDEO: "video.mp4",
    MediaType.DOCUMENT: "document.bin",
}


@dataclass(frozen=True, slots=True)
class PreparedMedia:
    """A media item ready to send: a cached file_id, or bytes or a file to upload."""

    index: int
    item: MediaItem
    kind: MediaType
    cache_key: str | None
    filename: str
    file_id: str | None = None
    data: bytes | None = None
    # A large download, uploaded from its temporary file (see spool.py).
    file: SpooledFile | None = None
    # Why the item goes differently than asked (e.g. a photo sent as a document).
    note: str | None = None

    @property
    def upload_bytes(self) -> int:
        """Return the bytes this item would upload (0 for a cached file_id)."""
        if self.file_id is not None:
            return 0
        if self.file is not None:
            return self.file.size
        return len(self.data or b"")

    def without_file_id(self) -> PreparedMedia:
        """Return the same item set to upload its bytes."""
        return replace(self, file_id=None)


@dataclass(frozen=True, slots=True)
class SkippedMedia:
    """A media item Telegram cannot take; the reason is always reported."""

    index: int
    item: MediaItem
    # For the log and the summary (English, with the details).
    reason: str
    # For the chat: a built-in text key (pipeline/i18n_texts.py) and its values,
    # written in the destination's language.
    reason_key: str = "media.reason.too_large"
    reason_values: tuple[tuple[str, str], ...] = ()

    def notice(self, language: str) -> str:
        """Return "Photo not sent: <reason>" in a language."""
        reason = text(self.reason_key, language, **dict(self.reason_values))
        return text(f"media.not_sent.{self.item.type}", language, reason=reason)


def format_size(size: int) -> str:
    """Return a size for messages (MB, KB or bytes)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} B"


def content_key(item: MediaItem, data: bytes | SpooledFile | None) -> str | None:
    """Return the cache key: the source's identity, else URL + content hash."""
    if item.identity:
        return f"id:{item.identity}"
    if data is None:
        return None
    digest = (
        data.sha256
        if isinstance(data, SpooledFile)
        else hashlib.sha256(data).hexdigest()
    )
    if item.url:
        return f"url:{item.url}#sha256:{digest}"
    return f"sha256:{digest}"


def filename_for(item: MediaItem, kind: MediaType) -> str:
    """Return the upload file name: the item's, the URL's last segment, or a default."""
    if item.filename:
        return item.filename
    if item.url:
        name = urlsplit(item.url).path.rsplit("/", 1)[-1]
        if name:
            return name
    return DEFAULT_FILENAMES[kind]


def photo_problem(data: bytes | SpooledFile, limits: TelegramLimits) -> str | None:
    """Return why `sendPhoto` would refuse these bytes, or None."""
    if body_size(data) > limits.photo_bytes:
        return f"{format_size(body_size(data))} over the photo limit"
    if isinstance(data, SpooledFile):
        # Only bodies larger than any photo go to disk (MEDIA_MEMORY_BYTES).
        return "too large to check as a photo"
    try:
        # Only the header is read; the pixels are never decoded.
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except UnidentifiedImageError, OSError, ValueError:
        return "not an image Telegram can show as a photo"
    if width + height > limits.photo_dimensions_sum:
        return f"{width}x{height} exceeds width + height {limits.photo_dimensions_sum}"
    ratio = max(width, height) / max(1, min(width, height))
    if ratio > limits.photo_side_ratio:
        return f"side ratio {ratio:.0f} exceeds {limits.photo_side_ratio:g}"
    return None


def classify(
    index: int,
    item: MediaItem,
    data: bytes | SpooledFile,
    limits: TelegramLimits,
    *,
    large_videos_as_documents: bool,
) -> PreparedMedia | SkippedMedia:
    """Decide how an item with known bytes is sent, from the limits table."""
    size = body_size(data)
    kind, note = item.type, None
    if kind is MediaType.PHOTO and (problem := photo_problem(data, limits)):
        kind, note = MediaType.DOCUMENT, f"photo sent as document: {problem}"
    elif kind is MediaType.VIDEO and size > limits.video_bytes:
        sizes = (
            ("size", format_size(size)),
            ("limit", format_size(limits.video_bytes)),
        )
        over = f"video of {sizes[0][1]} over the {sizes[1][1]} video limit"
        if not large_videos_as_documents:
            return SkippedMedia(
                index, item, over, "media.reason.video_over_limit", sizes
            )
        kind, note = MediaType.DOCUMENT, f"{over}, sent as document"
    if kind is MediaType.DOCUMENT and size > limits.document_bytes:
        sizes = (
            ("size", format_size(size)),
            ("limit", format_size(limits.document_bytes)),
        )
        return SkippedMedia(
            index,
            item,
            f"{sizes[0][1]} over the {sizes[1][1]} document limit",
            "media.reason.document_over_limit",
            sizes,
        )
    return PreparedMedia(
        index=index,
        item=item,
        kind=kind,
        cache_key=content_key(item, data),
        filename=filename_for(item, kind),
        data=data if isinstance(data, bytes) else None,
        file=data if isinstance(data, SpooledFile) else None,
        note=note,
    )


def plan_groups(
    items: Sequence[PreparedMedia], limits: TelegramLimits
) -> list[list[PreparedMedia]]:
    """Split items into albums Telegram accepts; a one-item group is sent alone.

    Photos and videos may share an album, documents only go with documents, an album
    holds at most `media_group_max` items and uploads at most `media_group_bytes`.
    """
    groups: list[list[PreparedMedia]] = []
    for family in _families(items):
        current: list[PreparedMedia] = []
        current_bytes = 0
        for prepared in family:
            size = prepared.upload_bytes
            full = len(current) >= limits.media_group_max
            if current and (full or current_bytes + size > limits.media_group_bytes):
                groups.append(current)
                current, current_bytes = [], 0
            current.append(prepared)
            current_bytes += size
        if current:
            groups.append(current)
    return groups


def _families(items: Iterable[PreparedMedia]) -> list[list[PreparedMedia]]:
    visual = [p for p in items if p.kind is not MediaType.DOCUMENT]
    documents = [p for p in items if p.kind is MediaType.DOCUMENT]
    return [family for family in (visual, documents) if family]
