"""Scheduled digests: what a route saw since the last one, persisted, sent once.

Per route, the accumulator keeps an open `Period` (events folded since the last digest),
the time of the last run, and at most one digest being sent. Every change is saved
(through the `save` callable, e.g. HA `Store.async_save`) before the call that made it
returns, so an event acknowledged by `async_add` survives a restart.

Sending (`async_send_digest`), and what a crash at each point leaves behind:

1. `async_take`: in ONE save, the open period becomes the digest being sent, a new
   empty period opens, and `last_run` moves to now. Crash before the save: the old
   state is intact, the due time is in the past, the digest runs at startup (nothing
   lost, nothing sent). Nothing happened and no `send_empty`: only `last_run` moves.
2. Each destination in turn; after each, ONE save records it as delivered (or handed
   to the outbox, which retries by itself). Crash in between: at startup
   `in_flight()` returns the digest and it is sent to the destinations not yet
   recorded. The one window that can repeat a message is a crash after a destination
   accepted it and before that save finished (no destination offers an idempotency
   key); it is one save long, and limited to that destination.
3. `async_mark_sent`: in ONE save, the digest is dropped. A digest id is never taken
   twice (it names the route and the run), and a second trigger (button, action,
   timer) finds the digest gone or an empty period.

Events arriving while a digest is sent go to the new period: never lost, never in two
digests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any, Protocol

from .i18n import DEFAULT_LANGUAGE, destination_language, text
from .log import get_logger
from .models import (
    BridgeEvent,
    Destination,
    DispatchSummary,
    MediaItem,
    Notification,
)
from .render import escape_text
from .schedule import Schedule
from .summary import Period, media_from_ref, summary_builder, summary_lines

_LOGGER = get_logger(__name__)

STORE_VERSION = 1
DEFAULT_DIGEST_MEDIA = 10
MAX_DIGEST_MEDIA = 50

# Route options (subentry data) of a scheduled route.
CONF_SCHEDULE = "schedule"
CONF_DIGEST_MODE = "digest_mode"
CONF_DIGEST_MEDIA = "digest_max_media"
CONF_SEND_EMPTY = "digest_send_empty"

type Load = Callable[[], Awaitable[Mapping[str, Any] | None]]
type Save = Callable[[dict[str, Any]], Awaitable[None]]
type MediaProvider = Callable[["Digest"], Awaitable[tuple[MediaItem, ...]]]


class Pipeline(Protocol):
    """What sending a digest needs of the pipeline (`engine.Pipeline`)."""

    async def async_send(
        self,
        destination_ids: Sequence[str],
        build: Callable[[Destination], Notification],
        *,
        dispatch_id: str | None = None,
        respect_quiet_hours: bool = True,
    ) -> DispatchSummary:
        """Deliver caller-built notifications."""
        ...


class DigestMode(StrEnum):
    """Whether a scheduled route still notifies at once."""

    INSTEAD = "instead"
    ALSO = "also"


@dataclass(frozen=True, slots=True)
class DigestConfig:
    """The digest options of one route."""

    route_id: str
    route_name: str
    source_kind: str
    schedule: Schedule
    mode: DigestMode = DigestMode.INSTEAD
    max_media: int = DEFAULT_DIGEST_MEDIA
    send_empty: bool = False

    @classmethod
    def from_options(
        cls,
        route_id: str,
        route_name: str,
        source_kind: str,
        options: Mapping[str, Any],
    ) -> DigestConfig | None:
        """Return the config of a route's options, None without a schedule.

        Raises ValueError for a malformed schedule (the flow validates it first).
        """
        raw = options.get(CONF_SCHEDULE)
        if not raw:
            return None
        try:
            mode = DigestMode(options.get(CONF_DIGEST_MODE, DigestMode.INSTEAD))
        except ValueError:
            mode = DigestMode.INSTEAD
        media = options.get(CONF_DIGEST_MEDIA, DEFAULT_DIGEST_MEDIA)
        return cls(
            route_id=route_id,
            route_name=route_name,
            source_kind=source_kind,
            schedule=Schedule.from_dict(raw),
            mode=mode,
            max_media=max(0, min(MAX_DIGEST_MEDIA, int(media)))
            if isinstance(media, int) and not isinstance(media, bool)
            else DEFAULT_DIGEST_MEDIA,
            send_empty=bool(options.get(CONF_SEND_EMPTY, False)),
        )


@dataclass(frozen=True, slots=True)
class Digest:
    """One digest to send: a closed period of one route."""

    digest_id: str
    route_id: str
    route_name: str
    source_kind: str
    until: datetime
    period: Period
    # Destinations it was already delivered (or handed to the outbox) to.
    delivered: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        """Return whether nothing happened in the period."""
        return self.period.total == 0

    def lines(self, language: str = DEFAULT_LANGUAGE) -> list[str]:
        """Return the source's summary lines in a language."""
        return summary_lines(self.source_kind, self.period, language)

    def message(self, language: str = DEFAULT_LANGUAGE) -> str:
        """Return the built-in digest text (plain: escape it for the destination)."""
        since = self.period.since
        if self.empty:
            return text(
                "schedule.nothing", language, route=self.route_name, since=since
            )
        header = text(
            "schedule.header",
            language,
            route=self.route_name,
            count=self.period.total,
            since=since,
        )
        return "\n".join([header, *self.lines(language)])

    def stored_media(self, limit: int) -> tuple[MediaItem, ...]:
        """Return the period's media references (no bytes), newest last."""
        refs = self.period.media[-limit:] if limit > 0 else []
        return tuple(media_from_ref(ref) for ref in refs)

    def context(self, language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
        """Return what a user template of a digest sees."""
        return {
            "language": language,
            "route": {"id": self.route_id, "name": self.route_name},
            "digest": {
                "id": self.digest_id,
                "since": self.period.since.isoformat(),
                "until": self.until.isoformat(),
                "total": self.period.total,
                "by_type": dict(self.period.by_type),
                "by_item": dict(self.period.by_item),
                "stats": self.period.stats,
                "lines": self.lines(language),
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the stored form."""
        return {
            "id": self.digest_id,
            "route_name": self.route_name,
            "source_kind": self.source_kind,
            "until": self.until.isoformat(),
            "period": self.period.to_dict(),
            "delivered": sorted(self.delivered),
        }

    @classmethod
    def from_dict(cls, route_id: str, data: Mapping[str, Any]) -> Digest:
        """Rebuild from the stored form."""
        return cls(
            digest_id=str(data["id"]),
            route_id=route_id,
            route_name=str(data.get("route_name") or route_id),
            source_kind=str(data.get("source_kind") or ""),
            until=datetime.fromisoformat(data["until"]),
            period=Period.from_dict(data["period"]),
            delivered=frozenset(str(d) for d in data.get("delivered", ())),
        )


@dataclass(slots=True)
class _RouteState:
    period: Period
    last_run: datetime
    sending: Digest | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "last_run": self.last_run.isoformat(),
            "sending": self.sending.to_dict() if self.sending else None,
        }

    @classmethod
    def from_dict(cls, route_id: str, data: Mapping[str, Any]) -> _RouteState:
        sending = data.get("sending")
        return cls(
            period=Period.from_dict(data["period"]),
            last_run=datetime.fromisoformat(data["last_run"]),
            sending=Digest.from_dict(route_id, sending) if sending else None,
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DigestAccumulator:
    """Collects events of scheduled routes and hands out each digest once."""

    def __init__(
        self,
        *,
        load: Load | None = None,
        save: Save | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """`load()` returns what `save(data)` stored (None at first start)."""
        self._load = load
        self._save = save
        self._clock = clock
        self._configs: dict[str, DigestConfig] = {}
        self._states: dict[str, _RouteState] = {}
        self._lock = asyncio.Lock()
        # One send per route at a time: a button pressed while the timer's digest is
        # on its way must not send the same digest again.
        self._send_locks: dict[str, asyncio.Lock] = {}
        self._save_lock = asyncio.Lock()
        self._changes = 0
        self._saved = 0

    async def async_load(self) -> None:
        """Restore the stored state; a malformed route entry is dropped, logged."""
        stored = await self._load() if self._load is not None else None
        routes = (stored or {}).get("routes", {})
        for route_id, raw in routes.items() if isinstance(routes, Mapping) else ():
            try:
                self._states[route_id] = _RouteState.from_dict(route_id, raw)
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                _LOGGER.warning("Dropping stored digest of route %s: %s", route_id, err)

    # Configuration

    def configure(self, config: DigestConfig) -> None:
        """Start (or keep) collecting for a route; a new route's period starts now."""
        self._configs[config.route_id] = config
        if config.route_id not in self._states:
            now = self._clock()
            self._states[config.route_id] = _RouteState(Period(since=now), now)

    def unconfigure(self, route_id: str) -> None:
        """Stop collecting for a route (unload); what it collected stays stored."""
        self._configs.pop(route_id, None)

    async def async_forget(self, route_id: str) -> None:
        """Drop a removed route's state."""
        self._configs.pop(route_id, None)
        async with self._lock:
            if self._states.pop(route_id, None) is not None:
                await self._persist(self._mark_changed())

    def known_routes(self) -> frozenset[str]:
        """Return every route with stored state (configured or not)."""
        return frozenset(self._states)

    def config(self, route_id: str) -> DigestConfig | None:
        """Return a route's digest config, if it has a schedule."""
        return self._configs.get(route_id)

    def collects(self, route_id: str) -> bool:
        """Return whether a route's events go into a digest."""
        return route_id in self._configs

    def replaces_immediate(self, route_id: str) -> bool:
        """Return whether a route's events go ONLY into the digest."""
        config = self._configs.get(route_id)
        return config is not None and config.mode is DigestMode.INSTEAD

    # Collecting

    async def async_add(self, route_id: str, event: BridgeEvent) -> None:
        """Fold an event into its route's open period and save."""
        config = self._configs.get(route_id)
        if config is None:
            return
        async with self._lock:
            builder = summary_builder(config.source_kind)
            self._states[route_id].period.add(event, builder, config.max_media)
            wanted = self._mark_changed()
        # Outside the lock: a burst of events shares one save.
        await self._persist(wanted)

    def pending_events(self, route_id: str) -> int:
        """Return how many events wait for a route's next digest."""
        state = self._states.get(route_id)
        return state.period.total if state else 0

    def next_due(self, route_id: str, tz: tzinfo) -> datetime | None:
        """Return when a route's next digest is due (in the past: due now)."""
        config, state = self._configs.get(route_id), self._states.get(route_id)
        if config is None or state is None:
            return None
        return config.schedule.next_run(state.last_run, tz)

    def due_routes(self, now: datetime, tz: tzinfo) -> list[str]:
        """Return the routes whose digest is due at `now`."""
        return [
            route_id
            for route_id in self._configs
            if (due := self.next_due(route_id, tz)) is not None and due <= now
        ]

    def in_flight(self) -> list[Digest]:
        """Return digests taken but not marked sent (a restart interrupted them)."""
        return [s.sending for s in self._states.values() if s.sending is not None]

    # Sending

    def send_lock(self, route_id: str) -> asyncio.Lock:
        """Return the lock a route's sender holds from take to mark-sent."""
        return self._send_locks.setdefault(route_id, asyncio.Lock())

    async def async_take(self, route_id: str) -> Digest | None:
        """Close the open period into a digest (one save) and return it.

        Returns the digest still being sent, if any (it goes first); None when
        nothing happened and the route does not send empty digests.
        """
        config = self._configs.get(route_id)
        if config is None:
            return None
        async with self._lock:
            state = self._states[route_id]
            if state.sending is not None:
                return state.sending
            now = self._clock()
            period, state.last_run = state.period, now
            if period.total or config.send_empty:
                state.sending = Digest(
                    digest_id=f"{route_id}:{now.isoformat()}",
                    route_id=route_id,
                    route_name=config.route_name,
                    source_kind=config.source_kind,
                    until=now,
                    period=period,
                )
                state.period = Period(since=now)
            await self._persist(self._mark_changed())
            return state.sending

    async def async_mark_delivered(
        self, route_id: str, digest_id: str, destination_id: str
    ) -> None:
        """Record that one destination has the digest (one save)."""
        async with self._lock:
            state = self._states.get(route_id)
            if state is None or state.sending is None:
                return
            if state.sending.digest_id != digest_id:
                return
            state.sending = replace(
                state.sending, delivered=state.sending.delivered | {destination_id}
            )
            await self._persist(self._mark_changed())

    async def async_mark_sent(self, route_id: str, digest_id: str) -> None:
        """Drop a sent digest (one save); another digest id is left alone."""
        async with self._lock:
            state = self._states.get(route_id)
            if state is None or state.sending is None:
                return
            if state.sending.digest_id != digest_id:
                return
            state.sending = None
            await self._persist(self._mark_changed())

    # Persistence

    def as_dict(self) -> dict[str, Any]:
        """Return the stored form."""
        return {
            "version": STORE_VERSION,
            "routes": {rid: state.to_dict() for rid, state in self._states.items()},
        }

    def _mark_changed(self) -> int:
        self._changes += 1
        return self._changes

    async def _persist(self, wanted: int) -> None:
        """Save up to change `wanted`; concurrent changes share one save (the state
        is saved whole)."""
        if self._save is None:
            return
        async with self._save_lock:
            if self._saved >= wanted:
                return
            target = self._changes
            await self._save(self.as_dict())
            self._saved = target


async def async_send_digest(
    accumulator: DigestAccumulator,
    pipeline: Pipeline,
    route_id: str,
    destination_ids: Sequence[str],
    *,
    default_language: str = DEFAULT_LANGUAGE,
    media: MediaProvider | None = None,
) -> list[DispatchSummary]:
    """Take a route's digest and deliver it to each destination in its language.

    Returns one summary per destination delivered now (none when nothing happened).
    """
    async with accumulator.send_lock(route_id):
        digest = await accumulator.async_take(route_id)
        if digest is None:
            return []
        return await _async_deliver(
            accumulator,
            pipeline,
            digest,
            destination_ids,
            default_language=default_language,
            media=media,
        )


async def _async_deliver(
    accumulator: DigestAccumulator,
    pipeline: Pipeline,
    digest: Digest,
    destination_ids: Sequence[str],
    *,
    default_language: str,
    media: MediaProvider | None,
) -> list[DispatchSummary]:
    route_id = digest.route_id
    config = accumulator.config(route_id)
    limit = config.max_media if config else DEFAULT_DIGEST_MEDIA
    items = await media(digest) if media is not None else digest.stored_media(limit)
    summaries: list[DispatchSummary] = []
    for dest_id in dict.fromkeys(destination_ids):
        if dest_id in digest.delivered:
            continue
        summaries.append(
            await pipeline.async_send(
                [dest_id],
                _digest_builder(digest, items[:limit], default_language),
                dispatch_id=f"{digest.digest_id}:{dest_id}",
            )
        )
        # Delivered, or held by the outbox (which retries): either way, done here.
        await accumulator.async_mark_delivered(route_id, digest.digest_id, dest_id)
    await accumulator.async_mark_sent(route_id, digest.digest_id)
    return summaries


def _digest_builder(
    digest: Digest, media: tuple[MediaItem, ...], default_language: str
) -> Callable[[Destination], Notification]:
    def build(destination: Destination) -> Notification:
        language = destination_language(destination, default_language)
        fmt = destination.output_format
        return Notification(
            message=escape_text(digest.message(language), fmt),
            title=digest.route_name,
            media=media,
            output_format=fmt,
        )

    return build


async def async_run_due(
    accumulator: DigestAccumulator,
    pipeline: Pipeline,
    now: datetime,
    tz: tzinfo,
    destinations_of: Callable[[str], Sequence[str]],
    *,
    default_language: str = DEFAULT_LANGUAGE,
    media: MediaProvider | None = None,
) -> int:
    """Finish interrupted digests, then send every due one; returns digests sent.

    Call at startup (catch-up: a missed due time runs once) and at each due time.
    """
    routes = [d.route_id for d in accumulator.in_flight()]
    routes += [r for r in accumulator.due_routes(now, tz) if r not in routes]
    sent = 0
    for route_id in routes:
        if not accumulator.collects(route_id):
            continue
        summaries = await async_send_digest(
            accumulator,
            pipeline,
            route_id,
            destinations_of(route_id),
            default_language=default_language,
            media=media,
        )
        sent += bool(summaries)
    return sent
