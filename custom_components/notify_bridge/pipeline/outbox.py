"""What waits in the outbox: pending notifications, per-destination queues, digests.

The data side of the delivery policy (`policy.py`): how a waiting notification is
stored (and restored after a restart), and how what waits becomes the units a drain
delivers (one digest per route, or one by one).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
import uuid

from .i18n import DEFAULT_LANGUAGE, text
from .limits import DIGEST_MESSAGES
from .models import (
    Button,
    DeliveryContext,
    MediaItem,
    MediaType,
    Notification,
    OutputFormat,
)
from .render import escape_text

# How notifications without a route (the send action) are named in digests.
DEFAULT_ROUTE_NAME = "Notify Bridge"


class PendingReason(StrEnum):
    """Why a notification waits."""

    DEFERRED = "deferred"
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class PendingItem:
    """A notification waiting for its destination."""

    item_id: str
    reason: PendingReason
    created_at: datetime
    message: str
    title: str | None
    output_format: OutputFormat
    route_id: str | None
    route_name: str | None
    digest: bool
    disable_notification: bool | None = None
    message_thread_id: int | None = None
    parse_mode: str | None = None
    # Bytes stay in memory only (within a budget); what is stored is the URL and the
    # identity, so after a restart a target can re-send from its upload cache.
    media: tuple[MediaItem, ...] = ()
    # Kept for a notification delivered on its own (a digest carries none).
    buttons: tuple[tuple[Button, ...], ...] = ()
    reply_to: int | None = None

    def notification(self) -> Notification:
        """Return the notification to deliver."""
        return Notification(
            message=self.message,
            title=self.title,
            media=self.media,
            output_format=self.output_format,
            disable_notification=self.disable_notification,
            message_thread_id=self.message_thread_id,
            parse_mode=self.parse_mode,
            buttons=self.buttons,
            reply_to=self.reply_to,
        )

    @property
    def media_bytes(self) -> int:
        """Return how many bytes of media this item holds in memory."""
        return sum(len(m.data or b"") + len(m.thumbnail or b"") for m in self.media)

    def as_dict(self) -> dict[str, Any]:
        """Return the stored form."""
        return {
            "id": self.item_id,
            "reason": self.reason.value,
            "created_at": self.created_at.isoformat(),
            "message": self.message,
            "title": self.title,
            "format": self.output_format.value,
            "route_id": self.route_id,
            "route_name": self.route_name,
            "digest": self.digest,
            "disable_notification": self.disable_notification,
            "message_thread_id": self.message_thread_id,
            "parse_mode": self.parse_mode,
            "media": [
                {
                    "type": item.type.value,
                    "url": item.url,
                    "identity": item.identity,
                    "filename": item.filename,
                }
                for item in self.media
                if item.url or item.identity
            ],
            "buttons": [
                [{"text": b.text, "url": b.url, "action": b.action} for b in row]
                for row in self.buttons
            ],
            "reply_to": self.reply_to,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingItem:
        """Rebuild an item from its stored form."""
        return cls(
            item_id=data["id"],
            reason=PendingReason(data["reason"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            message=data["message"],
            title=data.get("title"),
            output_format=OutputFormat(data.get("format", OutputFormat.PLAIN)),
            route_id=data.get("route_id"),
            route_name=data.get("route_name"),
            digest=bool(data.get("digest", True)),
            disable_notification=data.get("disable_notification"),
            message_thread_id=data.get("message_thread_id"),
            parse_mode=data.get("parse_mode"),
            media=tuple(
                MediaItem(
                    type=MediaType(item["type"]),
                    url=item.get("url"),
                    identity=item.get("identity"),
                    filename=item.get("filename"),
                )
                for item in data.get("media", ())
            ),
            buttons=tuple(
                tuple(
                    Button(b["text"], url=b.get("url"), action=b.get("action"))
                    for b in row
                )
                for row in data.get("buttons") or ()
            ),
            reply_to=data.get("reply_to"),
        )


def new_pending(
    reason: PendingReason,
    notification: Notification,
    context: DeliveryContext,
    now: datetime,
) -> PendingItem:
    """Return a pending item for a notification."""
    return PendingItem(
        item_id=uuid.uuid4().hex,
        reason=reason,
        created_at=now,
        message=notification.message,
        title=notification.title,
        output_format=notification.output_format,
        route_id=context.route_id,
        route_name=context.route_name,
        digest=context.digest,
        disable_notification=notification.disable_notification,
        message_thread_id=notification.message_thread_id,
        parse_mode=notification.parse_mode,
        media=notification.media,
        buttons=notification.buttons,
        reply_to=notification.reply_to,
    )


def without_bytes(item: PendingItem) -> PendingItem:
    """Return the item with its media reduced to URL and identity."""
    return replace(
        item,
        media=tuple(replace(m, data=None, thumbnail=None) for m in item.media),
    )


@dataclass(slots=True)
class DestinationQueue:
    """What one destination has waiting, oldest first."""

    items: deque[PendingItem] = field(default_factory=deque)
    # Per route name: notifications folded away when the queue was full.
    folded: dict[str, int] = field(default_factory=dict)
    failures: int = 0
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DrainUnit:
    """One delivery made from pending items: a digest or a single notification."""

    items: tuple[PendingItem, ...]
    notification: Notification
    # Route names whose folded count this delivery reports.
    folded: tuple[str, ...] = ()


def _digest_text(
    route_name: str,
    items: list[PendingItem],
    folded: int,
    fmt: OutputFormat,
    language: str = DEFAULT_LANGUAGE,
) -> str:
    total = len(items) + folded
    # The messages are already in the destination's format; the header is built
    # here, so the route name is escaped here.
    name = escape_text(route_name, fmt)
    lines = [text("digest.away_header", language, count=total, route=name)]
    shown = items[-DIGEST_MESSAGES:]
    lines.extend(item.message for item in shown)
    earlier = total - len(shown)
    if earlier:
        lines.append(text("digest.earlier", language, count=earlier))
    return "\n\n".join(lines)


def _folded_units(queue: DestinationQueue, language: str) -> list[DrainUnit]:
    """Return a notice per route whose folded count no digest will carry."""
    digest_names = {
        item.route_name or DEFAULT_ROUTE_NAME
        for item in queue.items
        if item.reason is PendingReason.DEFERRED and item.digest
    }
    return [
        DrainUnit(
            (),
            Notification(
                message=text("digest.folded", language, count=count, route=name),
                title=name,
            ),
            folded=(name,),
        )
        for name, count in queue.folded.items()
        if count and name not in digest_names
    ]


def build_units(
    queue: DestinationQueue, language: str = DEFAULT_LANGUAGE
) -> list[DrainUnit]:
    """Turn what waits into deliveries, in order: a route's deferred items that ask
    for a digest become one digest where the first of them stood. Built-in texts
    are in the destination's `language`."""
    units = _folded_units(queue, language)
    groups: dict[str | None, list[PendingItem]] = {}
    order: list[PendingItem | str | None] = []
    for item in queue.items:
        if item.reason is PendingReason.DEFERRED and item.digest:
            if item.route_id not in groups:
                groups[item.route_id] = []
                order.append(item.route_id)
            groups[item.route_id].append(item)
        else:
            order.append(item)
    for entry in order:
        if isinstance(entry, PendingItem):
            units.append(DrainUnit((entry,), entry.notification()))
            continue
        items = groups[entry]
        first = items[0]
        name = first.route_name or DEFAULT_ROUTE_NAME
        if len(items) == 1 and not queue.folded.get(name):
            units.append(DrainUnit((first,), first.notification()))
            continue
        media = tuple(m for item in items for m in item.media)
        units.append(
            DrainUnit(
                tuple(items),
                Notification(
                    message=_digest_text(
                        name,
                        items,
                        queue.folded.get(name, 0),
                        first.output_format,
                        language,
                    ),
                    title=name,
                    media=media[:10],
                    output_format=first.output_format,
                    message_thread_id=first.message_thread_id,
                ),
                folded=(name,),
            )
        )
    return units
