"""Typed values that flow between pipeline stages.

Everything here is frozen: a stage never changes what the previous stage produced, so a
notification rendered once can be fanned out to many destinations concurrently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from ..const import CONF_COALESCE_SECONDS, CONF_DIGEST
from .limits import MAX_ERROR_LENGTH


class OutputFormat(StrEnum):
    """How a destination displays text; decides how template values are escaped."""

    PLAIN = "plain"
    HTML = "html"
    MARKDOWN = "markdown"


class MediaType(StrEnum):
    """Kinds of media a notification can carry."""

    PHOTO = "photo"
    VIDEO = "video"
    DOCUMENT = "document"


class DispatchStatus(StrEnum):
    """Overall outcome of one dispatch; a partial failure is never "ok".

    `queued`: nothing failed for good, but something waits in the outbox for a retry
    (it will arrive). `deferred`: nothing failed or queued, but quiet hours hold
    something back. `partial`: some of it was not (or may not have been) delivered.
    """

    OK = "ok"
    QUEUED = "queued"
    DEFERRED = "deferred"
    PARTIAL = "partial"
    FAIL = "fail"


def freeze[K = str, V = Any](data: Mapping[K, V] | None) -> Mapping[K, V]:
    """Return a read-only view of a mapping so a frozen dataclass stays immutable."""
    if isinstance(data, MappingProxyType):
        return data
    return MappingProxyType(dict(data or {}))


def truncate_error(text: str) -> str:
    """Cut an error message to the length kept in summaries."""
    if len(text) <= MAX_ERROR_LENGTH:
        return text
    return text[: MAX_ERROR_LENGTH - 1] + "…"


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One photo, video or document: either a URL to fetch or bytes a source has."""

    type: MediaType
    url: str | None = None
    data: bytes | None = field(default=None, repr=False)
    # What the content is (e.g. "immich:<asset>:preview"), for upload caches.
    identity: str | None = None
    filename: str | None = None
    thumbnail: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class BridgeEvent:
    """A normalized event from any source."""

    source_entry_id: str
    source_kind: str
    event_type: str
    # Template context; read-only (see `freeze`).
    data: Mapping[str, Any]
    occurred_at: datetime
    # Correlation id from the inbound request (X-Request-Id, X-Gitea-Delivery), if any.
    request_id: str | None = None
    media: tuple[MediaItem, ...] = ()
    # What the event is about (album, repository, board): coalescing groups by it.
    item_key: str | None = None
    # Media left out when coalesced events carried more than a message may hold.
    media_overflow: int = 0


@dataclass(frozen=True, slots=True)
class Route:
    """What a route subentry asks for: which events, where to, how to say it."""

    route_id: str
    name: str
    source_entry_id: str
    event_types: frozenset[str]
    # Every key/value here must equal the event's data (dotted keys reach nested data).
    match: Mapping[str, Any]
    # Destination ids (the subentry ids of target destinations).
    destinations: tuple[str, ...]
    template: str
    title_template: str | None = None
    # Events for the same item within this many seconds become one notification.
    coalesce_seconds: float = 0
    # What quiet hours held back goes out as one digest (True) or one by one.
    digest: bool = True


def route_policy(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return a route's policy fields (Route keywords) from its stored options."""
    return {
        "coalesce_seconds": float(options.get(CONF_COALESCE_SECONDS) or 0),
        "digest": bool(options.get(CONF_DIGEST, True)),
    }


@dataclass(frozen=True, slots=True)
class DeliveryContext:
    """Why a notification is being delivered: the policy layer decides with it."""

    route_id: str | None = None
    route_name: str | None = None
    digest: bool = True
    respect_quiet_hours: bool = True


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a message: opens `url`, or sends `action` back (Telegram)."""

    text: str
    url: str | None = None
    action: str | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """What one destination is asked to deliver."""

    message: str
    title: str | None = None
    media: tuple[MediaItem, ...] = ()
    output_format: OutputFormat = OutputFormat.PLAIN
    disable_notification: bool | None = None
    message_thread_id: int | None = None
    # Telegram-style parse mode requested by the caller; None = the destination default.
    parse_mode: str | None = None
    # Rows of buttons under the message, and the message it answers (chat targets).
    buttons: tuple[tuple[Button, ...], ...] = ()
    reply_to: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """Outcome of one destination's delivery."""

    destination_id: str
    destination_name: str
    success: bool
    messages_sent: int = 0
    media_delivered: int = 0
    media_skipped: int = 0
    media_failed: int = 0
    attempts: int = 1
    errors: tuple[str, ...] = ()
    # Held back by quiet hours (delivered later, as a digest or one by one).
    deferred: bool = False
    # Not delivered yet but kept in the outbox: it will be retried, in order.
    queued: bool = False
    # Sends whose answer was lost after they may have reached the service: never
    # repeated (that could deliver twice), so whether they arrived is unknown.
    unconfirmed: int = 0
    # Ids of the messages it put into the chat (edit and delete use them).
    message_ids: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-friendly form used in summaries and diagnostics."""
        return {
            "destination_id": self.destination_id,
            "destination": self.destination_name,
            "success": self.success,
            "deferred": self.deferred,
            "queued": self.queued,
            "unconfirmed": self.unconfirmed,
            "messages_sent": self.messages_sent,
            "media_delivered": self.media_delivered,
            "media_skipped": self.media_skipped,
            "media_failed": self.media_failed,
            "attempts": self.attempts,
            "errors": list(self.errors),
            "message_ids": list(self.message_ids),
        }


@dataclass(frozen=True, slots=True)
class DispatchSummary:
    """Outcome of one dispatch across all its destinations."""

    dispatch_id: str
    status: DispatchStatus
    results: tuple[DeliveryResult, ...]
    errors: tuple[str, ...]
    started_at: datetime
    duration_ms: float
    route_id: str | None = None
    request_id: str | None = None

    @property
    def delivered(self) -> int:
        """Return how many destinations were delivered to."""
        return sum(1 for result in self.results if result.success)

    @property
    def failed(self) -> int:
        """Return how many destinations failed."""
        return sum(1 for result in self.results if not result.success)

    @property
    def lost(self) -> bool:
        """Return whether a destination failed with nothing left to retry."""
        return any(
            not result.success and not result.queued and not result.unconfirmed
            for result in self.results
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-friendly form used in responses, bus events, diagnostics."""
        return {
            "dispatch_id": self.dispatch_id,
            "status": self.status.value,
            "route_id": self.route_id,
            "request_id": self.request_id,
            "started_at": self.started_at.isoformat(),
            "duration_ms": round(self.duration_ms, 3),
            "destinations": len(self.results),
            "delivered": self.delivered,
            "failed": self.failed,
            "results": [result.as_dict() for result in self.results],
            "errors": list(self.errors),
        }


class DeliveryError(Exception):
    """A destination could not deliver; `permanent` says whether a retry can help."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        """Keep the message, whether it is permanent and when to try again."""
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.attempts = attempts


class Destination(Protocol):
    """One place to deliver to (a chat, a mailbox, an HA notify entity)."""

    @property
    def destination_id(self) -> str:
        """Return the stable id (the destination subentry id)."""

    @property
    def name(self) -> str:
        """Return the human name used in summaries."""

    @property
    def output_format(self) -> OutputFormat:
        """Return how this destination displays text."""

    async def async_deliver(self, notification: Notification) -> DeliveryResult:
        """Deliver one notification or raise `DeliveryError`."""
