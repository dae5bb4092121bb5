"""Scheduled digests in Home Assistant: one accumulator, a timer per scheduled route.

One `DigestAccumulator` serves every route of every source entry (the pipeline has
one `digests`), saved whole in one `Store` with `async_save` (never a delayed save:
an event acknowledged must be on disk). A route is configured from its subentry data
BEFORE its kind's setup starts the source, so no event of an "instead" route slips
out at once while the entry comes up.

Timers: each scheduled route has one `async_track_point_in_utc_time` timer at its
next due time (HA's time zone, DST rules of `pipeline.schedule`); after each run it
is armed again from the run's time. A due time missed while Home Assistant was down,
or a digest a restart interrupted, runs once when Home Assistant has started (the
targets are loaded by then). Runs are tasks of the route's entry: an unload waits
for a digest half-sent instead of cancelling it, then the timer is cancelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ...const import CONF_DESTINATIONS, CONF_KIND, DOMAIN
from ...pipeline.digest import (
    STORE_VERSION,
    Digest,
    DigestAccumulator,
    DigestConfig,
    async_send_digest,
)
from ...pipeline.engine import Pipeline
from ...pipeline.models import Destination, DispatchSummary, MediaItem, Notification
from ...runtime import DigestMedia
from .entities import digest_button_key

_LOGGER = logging.getLogger(__name__)

DIGEST_STORE_KEY = f"{DOMAIN}.digests"
# After a run that failed outright (not a destination failing: the outbox retries
# those), the route tries again this much later instead of at once, in a loop.
RETRY_AFTER_ERROR = timedelta(minutes=5)


class _NowPipeline:
    """The pipeline, delivering during quiet hours too (`send_digest` with `now`)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    async def async_send(
        self,
        destination_ids: Sequence[str],
        build: Callable[[Destination], Notification],
        *,
        dispatch_id: str | None = None,
        respect_quiet_hours: bool = True,
    ) -> DispatchSummary:
        return await self._pipeline.async_send(
            destination_ids, build, dispatch_id=dispatch_id, respect_quiet_hours=False
        )


@dataclass(slots=True)
class _ScheduledRoute:
    entry: ConfigEntry[Any]
    destinations: tuple[str, ...]
    media: DigestMedia | None
    cancel_timer: CALLBACK_TYPE | None = None


class DigestScheduler:
    """The digests of every scheduled route: collected, timed, sent once."""

    def __init__(self, hass: HomeAssistant, pipeline: Pipeline) -> None:
        """Create the accumulator and hand it to the pipeline; load before use."""
        self._hass = hass
        self._pipeline = pipeline
        self._store: Store[dict[str, Any]] = Store(
            hass, STORE_VERSION, DIGEST_STORE_KEY
        )
        self.accumulator = DigestAccumulator(
            load=self._store.async_load,
            save=self._store.async_save,
            # HA's local time: a digest's "since" reads as the reader's clock.
            clock=dt_util.now,
        )
        pipeline.digests = self.accumulator
        self._routes: dict[str, _ScheduledRoute] = {}

    async def async_load(self) -> None:
        """Restore what was collected before the last stop."""
        await self.accumulator.async_load()

    def scheduled(self, route_id: str) -> bool:
        """Return whether a loaded route has a schedule."""
        return route_id in self._routes

    def next_due(self, route_id: str) -> datetime | None:
        """Return when a route's next digest is due (UTC)."""
        return self.accumulator.next_due(route_id, dt_util.get_default_time_zone())

    async def async_setup_entry(
        self, entry: ConfigEntry[Any], media: DigestMedia | None = None
    ) -> None:
        """Configure an entry's scheduled routes (before its source starts)."""
        await self.async_forget_removed()
        for subentry in entry.subentries.values():
            try:
                config = DigestConfig.from_options(
                    subentry.subentry_id,
                    subentry.title,
                    entry.data[CONF_KIND],
                    subentry.data,
                )
            except ValueError as err:
                # The flow validates; this is data edited by hand.
                _LOGGER.warning("Route %s: schedule ignored: %s", subentry.title, err)
                continue
            if config is None:
                await self._async_unschedule(entry, subentry.subentry_id)
                continue
            self.accumulator.configure(config)
            self._routes[config.route_id] = _ScheduledRoute(
                entry, tuple(subentry.data.get(CONF_DESTINATIONS, ())), media
            )
            entry.async_on_unload(partial(self._unconfigure, config.route_id))

    async def _async_unschedule(self, entry: ConfigEntry[Any], route_id: str) -> None:
        """A route without a schedule (turned off): what it collected is not sent
        later by surprise, and its button goes (the subentry stays, so Home
        Assistant would keep it, unavailable)."""
        if route_id in self.accumulator.known_routes():
            await self.accumulator.async_forget(route_id)
        registry = er.async_get(self._hass)
        unique_id = f"{entry.entry_id}_{digest_button_key(route_id)}"
        if entity_id := registry.async_get_entity_id(
            Platform.BUTTON, DOMAIN, unique_id
        ):
            registry.async_remove(entity_id)

    @callback
    def start_entry(self, entry: ConfigEntry[Any]) -> None:
        """Time an entry's scheduled routes once it is set up and HA has started
        (what a restart interrupted, or a due time missed, runs then)."""
        route_ids = [rid for rid, r in self._routes.items() if r.entry is entry]
        if route_ids:
            entry.async_on_unload(
                async_at_started(self._hass, partial(self._start, route_ids))
            )

    async def async_forget_removed(self) -> None:
        """Drop the stored digests of routes whose subentry no longer exists."""
        existing = {
            subentry_id
            for entry in self._hass.config_entries.async_entries(DOMAIN)
            for subentry_id in entry.subentries
        }
        for route_id in self.accumulator.known_routes() - existing:
            await self.accumulator.async_forget(route_id)

    async def async_forget_entry(self, entry: ConfigEntry[Any]) -> None:
        """Drop the stored digests of a removed entry's routes."""
        for subentry_id in entry.subentries:
            await self.accumulator.async_forget(subentry_id)

    async def async_send_now(
        self, route_id: str, *, respect_quiet_hours: bool = True
    ) -> list[DispatchSummary]:
        """Send a route's digest now (button, action); the timer is re-armed."""
        route = self._routes[route_id]
        try:
            return await self._async_send(route, route_id, respect_quiet_hours)
        finally:
            self._arm(route_id)

    # --- timers -----------------------------------------------------------------

    @callback
    def _start(self, route_ids: list[str], _hass: HomeAssistant) -> None:
        for route_id in route_ids:
            self._arm(route_id)

    @callback
    def _arm(self, route_id: str, at: datetime | None = None) -> None:
        """Arm the route's timer at its next due time; a past one runs now."""
        route = self._routes.get(route_id)
        if route is None:
            return  # unloaded meanwhile
        if route.cancel_timer is not None:
            route.cancel_timer()
            route.cancel_timer = None
        due = at or self.next_due(route_id)
        if due is None:
            return
        interrupted = any(d.route_id == route_id for d in self.accumulator.in_flight())
        # A retry time is kept as given: an interrupted digest must not loop.
        if at is None and (interrupted or due <= dt_util.utcnow()):
            self._run(route_id)
            return
        route.cancel_timer = async_track_point_in_utc_time(
            self._hass, partial(self._fire, route_id), due
        )

    @callback
    def _fire(self, route_id: str, _now: datetime) -> None:
        route = self._routes.get(route_id)
        if route is not None:
            route.cancel_timer = None
            self._run(route_id)

    @callback
    def _run(self, route_id: str) -> None:
        route = self._routes[route_id]
        # A task of the entry: its unload waits for the digest instead of cutting it.
        route.entry.async_create_task(
            self._hass, self._async_run(route_id), f"{DOMAIN} digest {route_id}"
        )

    async def _async_run(self, route_id: str) -> None:
        route = self._routes.get(route_id)
        if route is None:
            return
        retry_at: datetime | None = None
        try:
            await self._async_send(route, route_id, True)
        except Exception:
            _LOGGER.exception("Digest of route %s failed; retrying later", route_id)
            retry_at = dt_util.utcnow() + RETRY_AFTER_ERROR
        self._arm(route_id, retry_at)

    async def _async_send(
        self, route: _ScheduledRoute, route_id: str, respect_quiet_hours: bool
    ) -> list[DispatchSummary]:
        media = route.media
        provider = None
        if media is not None:

            async def provider(digest: Digest) -> tuple[MediaItem, ...]:
                config = self.accumulator.config(route_id)
                return await media(
                    route.entry, digest, config.max_media if config else 0
                )

        return await async_send_digest(
            self.accumulator,
            self._pipeline if respect_quiet_hours else _NowPipeline(self._pipeline),
            route_id,
            route.destinations,
            default_language=self._pipeline.default_language,
            media=provider,
        )

    @callback
    def _unconfigure(self, route_id: str) -> None:
        route = self._routes.pop(route_id, None)
        if route is not None and route.cancel_timer is not None:
            route.cancel_timer()
        self.accumulator.unconfigure(route_id)
