"""What an Immich route sends on a schedule: the media of its digests, its memories.

Both take their media the way live notifications do: the route's `MediaFetcher`,
its rendition (`media`), its count and byte bounds. Memories are photos, so a route
that sends no media with live notifications sends previews with its memories.

Memories run daily at the route's local time (HA's time zone, the DST rules of
`pipeline.schedule`). A time missed while Home Assistant was down is not caught up:
"on this day" belongs to its day, and the next run is the next day's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from functools import partial
import logging
import random
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from ...const import DOMAIN, SIGNAL_ROUTE_EVENT, SIGNAL_SOURCE_EVENT
from ...pipeline.digest import Digest
from ...pipeline.i18n import destination_language
from ...pipeline.models import Destination, MediaItem, Notification
from ...pipeline.render import escape_text
from ...pipeline.summary import ImmichSummary
from ...runtime import BridgeHub
from ...sources.immich.client import ImmichAuthError, ImmichError
from ...sources.immich.media import MediaFetcher
from ...sources.immich.memories import (
    DEFAULT_MEMORY_LIMIT,
    MemoryKind,
    MemorySelection,
    async_digest_assets,
    async_on_this_day,
    async_random_photo,
    local_today,
    memory_event,
    memory_message,
)
from ...sources.immich.routes import MediaPolicy, RouteConfig
from .coordinator import ImmichCoordinator

_LOGGER = logging.getLogger(__name__)


def _route(coordinator: ImmichCoordinator, route_id: str) -> RouteConfig | None:
    return next((r for r in coordinator.routes if r.route_id == route_id), None)


async def async_digest_media(
    entry: ConfigEntry[Any], digest: Digest, limit: int
) -> tuple[MediaItem, ...]:
    """Return the media of a digest: the newest added assets still on the server,
    fetched as the route fetches live media (at most `limit`)."""
    coordinator = entry.runtime_data.coordinator
    route = _route(coordinator, digest.route_id)
    ids = digest.period.stats.get(ImmichSummary.ASSET_IDS) or []
    if route is None or limit <= 0 or not ids:
        return ()
    try:
        assets = await async_digest_assets(coordinator.client, ids, limit)
    except ImmichError as err:
        # The digest still goes out, without its photos.
        _LOGGER.warning("Media of the digest of %s not sent: %s", route.name, err)
        return ()
    fetcher = MediaFetcher(coordinator.client, web_url=coordinator.watcher.web_url)
    return await fetcher.async_for_route(replace(route, max_media=limit), assets)


class MemoryTimers:
    """One daily timer per route with memories; each run re-arms for the next day."""

    def __init__(
        self,
        hass: HomeAssistant,
        hub: BridgeHub,
        entry: ConfigEntry[Any],
        coordinator: ImmichCoordinator,
        rng: random.Random | None = None,
    ) -> None:
        """Keep what a run needs; `start` arms the timers."""
        self._hass = hass
        self._hub = hub
        self._entry = entry
        self._coordinator = coordinator
        self._rng = rng or random.Random()  # noqa: S311 -- picking photos
        self._timers: dict[str, CALLBACK_TYPE] = {}

    @callback
    def start(self) -> None:
        """Arm every route's timer (until the entry unloads)."""
        now = dt_util.utcnow()
        for route in self._coordinator.routes:
            self._arm(route, now)
        self._entry.async_on_unload(self.cancel)

    @callback
    def cancel(self) -> None:
        """Cancel every timer."""
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()

    @callback
    def _arm(self, route: RouteConfig, after: datetime) -> None:
        schedule = route.memory_schedule()
        if schedule is None:
            return
        due = schedule.next_run(after, dt_util.get_default_time_zone())
        self._timers[route.route_id] = async_track_point_in_utc_time(
            self._hass, partial(self._fire, route), due
        )

    @callback
    def _fire(self, route: RouteConfig, now: datetime) -> None:
        self._timers.pop(route.route_id, None)
        self._entry.async_create_task(
            self._hass, self.async_run(route, now), f"{DOMAIN} memories {route.name}"
        )
        # From the due time itself, so a late timer never skips or repeats a day.
        self._arm(route, now)

    async def async_run(self, route: RouteConfig, now: datetime) -> int:
        """Select and send the route's memories of the local day; returns how many
        memories went out (one with nothing to show is not sent)."""
        today = local_today(dt_util.get_default_time_zone(), now)
        sent = 0
        for kind in sorted(route.memories):
            try:
                selection = await self._async_select(route, kind, today)
            except ImmichAuthError:
                self._entry.async_start_reauth(self._hass)
                return sent
            except ImmichError as err:
                _LOGGER.warning("Memories of %s not sent: %s", route.name, err)
                continue
            if not selection.empty:
                await self._async_send(route, selection)
                sent += 1
        return sent

    async def _async_select(
        self, route: RouteConfig, kind: MemoryKind, today: date
    ) -> MemorySelection:
        client = self._coordinator.client
        albums = sorted(route.albums)
        if kind is MemoryKind.ON_THIS_DAY:
            return await async_on_this_day(
                client,
                albums,
                today,
                limit=route.max_media or DEFAULT_MEMORY_LIMIT,
                rng=self._rng,
            )
        # A random album of the route; an empty one passes to the next.
        self._rng.shuffle(albums)
        known = self._coordinator.watcher.state.albums
        selection = MemorySelection(kind=kind, today=today, assets=())
        for album_id in albums:
            name = known[album_id].name if album_id in known else album_id
            selection = await async_random_photo(
                client, album_id, name, today, rng=self._rng
            )
            if not selection.empty:
                break
        return selection

    async def _async_send(self, route: RouteConfig, selection: MemorySelection) -> None:
        coordinator = self._coordinator
        fetcher = MediaFetcher(coordinator.client, web_url=coordinator.watcher.web_url)
        media_route = route
        if route.media is MediaPolicy.NONE:
            media_route = replace(route, media=MediaPolicy.PREVIEW)
        media = await fetcher.async_for_route(
            replace(media_route, max_media=route.max_media or DEFAULT_MEMORY_LIMIT),
            selection.assets,
        )
        entry_id = self._entry.entry_id
        event = replace(
            memory_event(
                selection, entry_id, route.route_id, coordinator.watcher.web_url
            ),
            media=media,
        )
        # The source's and the route's event entities fire, for automations.
        async_dispatcher_send(self._hass, SIGNAL_SOURCE_EVENT.format(entry_id), event)
        async_dispatcher_send(
            self._hass, SIGNAL_ROUTE_EVENT.format(route.route_id), event
        )
        pipeline = self._hub.pipeline

        def build(destination: Destination) -> Notification:
            language = destination_language(destination, pipeline.default_language)
            fmt = destination.output_format
            return Notification(
                message=escape_text(memory_message(selection, language), fmt),
                title=route.name,
                media=media,
                output_format=fmt,
            )

        await pipeline.async_send(
            route.destinations,
            build,
            dispatch_id=f"{route.route_id}:{selection.kind}:{selection.today}",
        )
        if fetcher.auth_failed:
            self._entry.async_start_reauth(self._hass)
