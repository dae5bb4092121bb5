"""One coordinator per Immich server: polls, persists the seen-set, hands out events.

The coordinator wraps `AlbumWatcher` (one `GET /api/albums` when idle). After a poll
it schedules a delayed `Store` save of the watcher state, raises or clears repair
issues, and hands every change to each route that wants it, filtered and with media,
as a `BridgeEvent`. Nothing is reported twice: the state only advances once a whole
poll succeeded, and it is written at the latest when the entry unloads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ...const import DOMAIN, ISSUE_ALBUM_DELETED, ISSUE_IMMICH_UNREACHABLE, issue_id
from ...pipeline.models import BridgeEvent, MediaItem, freeze
from ...runtime import BridgeHub
from ...sources.immich.client import (
    ImmichAuthError,
    ImmichClient,
    ImmichError,
    ImmichResponseError,
)
from ...sources.immich.diff import AlbumWatcher
from ...sources.immich.events import (
    SOURCE_KIND,
    WatchEvent,
    WatchEventType,
    build_event_context,
)
from ...sources.immich.media import MediaFetcher
from ...sources.immich.routes import ROUTE_KEY, RouteConfig
from ...sources.immich.state import WatcherState

_LOGGER = logging.getLogger(__name__)

SCAN_INTERVAL = timedelta(seconds=60)
STORE_VERSION = 1
# Seconds a changed seen-set may wait before it is written (coalesces busy polls).
SAVE_DELAY = 30
# Consecutive failed polls before a repair issue says the server is unreachable.
FAILURES_BEFORE_ISSUE = 3

type EventSink = Callable[[BridgeEvent], None]


def store_key(entry_id: str) -> str:
    """Return the storage key of an entry's watcher state."""
    return f"{DOMAIN}.immich.{entry_id}"


def unreachable_issue_id(entry_id: str) -> str:
    """Return the id of the "server unreachable" issue of an entry."""
    return issue_id(ISSUE_IMMICH_UNREACHABLE, entry_id)


def album_issue_id(entry_id: str, route_id: str, album_id: str) -> str:
    """Return the id of the "album deleted" issue of one album in one route."""
    return issue_id(ISSUE_ALBUM_DELETED, entry_id, route_id, album_id)


def parse_state(raw: Mapping[str, Any] | None, entry_title: str) -> WatcherState | None:
    """Return the stored watcher state, or None (start afresh) when absent or broken."""
    if raw is None:
        return None
    try:
        return WatcherState.from_dict(raw)
    except ValueError as err:
        _LOGGER.warning(
            "Stored Immich state of %s is unreadable, starting afresh: %s",
            entry_title,
            err,
        )
        return None


def route_event(
    event: WatchEvent,
    route: RouteConfig,
    source_entry_id: str,
    media: tuple[MediaItem, ...] = (),
) -> BridgeEvent:
    """Return the pipeline event of one change as one route sees it."""
    context = build_event_context(event)
    context[ROUTE_KEY] = {"id": route.route_id, "name": route.name}
    return BridgeEvent(
        source_entry_id=source_entry_id,
        source_kind=SOURCE_KIND,
        event_type=event.type.value,
        data=freeze(context),
        occurred_at=dt_util.utcnow(),
        media=media,
        # Coalescing merges changes of one kind to one album (e.g. a long upload).
        item_key=f"{event.album.id}:{event.type.value}",
    )


class ImmichCoordinator(DataUpdateCoordinator[WatcherState]):
    """Polls one Immich server for every route of its entry."""

    config_entry: ConfigEntry[Any]

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        *,
        hub: BridgeHub,
        client: ImmichClient,
        watcher: AlbumWatcher,
        store: Store[dict[str, Any]],
        routes: Iterable[RouteConfig],
        sink: EventSink,
    ) -> None:
        """Keep the client, the watcher, the store and the routes."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"Immich {entry.title}",
            update_interval=SCAN_INTERVAL,
        )
        self.client = client
        self.watcher = watcher
        self.routes = tuple(routes)
        self._store = store
        self._sink = sink
        self._hub = hub
        self._save_pending = False
        # Events found before Home Assistant finished starting wait for the targets.
        self._held: list[WatchEvent] = []
        # Deliveries of consecutive polls go out in poll order.
        self._delivery_lock = asyncio.Lock()
        # Album changes the last poll found (the refresh action reports it).
        self.last_found = 0
        if not hass.is_running:
            entry.async_on_unload(async_at_started(hass, self._async_started))

    # --- polling ----------------------------------------------------------------

    async def _async_update_data(self) -> WatcherState:
        """Poll once; map failures to what Home Assistant shows."""
        try:
            result = await self.watcher.async_poll()
        except ImmichAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="immich_auth_failed"
            ) from err
        except (ImmichResponseError, ValueError) as err:
            self._record_failure()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="immich_malformed",
                translation_placeholders={"error": str(err)},
            ) from err
        except ImmichError as err:
            self._record_failure()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="immich_unreachable",
                translation_placeholders={"error": str(err)},
            ) from err
        self._record_success()
        self.last_found = len(result.events)
        if result.state_changed:
            self._save_pending = True
            self._store.async_delay_save(self._state_to_save, SAVE_DELAY)
        self._raise_deleted_album_issues(result.events)
        self._schedule_delivery(list(result.events))
        return self.watcher.state

    def asset_count(self, album_ids: Iterable[str]) -> int:
        """Return how many assets the given albums hold, as of the last poll."""
        albums = self.watcher.state.albums
        return sum(
            albums[album_id].fingerprint.asset_count
            for album_id in album_ids
            if album_id in albums
        )

    def diagnostics(self) -> dict[str, Any]:
        """Return the polling state for diagnostics (no secrets, no asset ids)."""
        state = self.watcher.state
        return {
            "last_update_success": self.last_update_success,
            "last_exception": None
            if self.last_exception is None
            else repr(self.last_exception),
            "consecutive_failures": self._hub.poll_failures(self.config_entry.entry_id),
            "update_interval": self.update_interval.total_seconds()
            if self.update_interval
            else None,
            "last_reconcile": state.last_reconcile,
            "albums": {
                album_id: {
                    "name": album.name,
                    "asset_count": album.fingerprint.asset_count,
                    "known_assets": album.known_assets,
                    "pending": len(album.pending),
                    "shared": album.sharing.shared,
                }
                for album_id, album in state.albums.items()
            },
            "routes": {
                route.route_id: {
                    "albums": sorted(route.albums),
                    "events": sorted(route.events),
                    "media": route.media.value,
                }
                for route in self.routes
            },
        }

    # --- persistence ------------------------------------------------------------

    @callback
    def _state_to_save(self) -> dict[str, Any]:
        self._save_pending = False
        return self.watcher.state.to_dict()

    async def async_flush(self) -> None:
        """Write a pending state now (the entry unloads)."""
        if self._save_pending:
            await self._store.async_save(self._state_to_save())

    # --- repairs ----------------------------------------------------------------

    def _record_failure(self) -> None:
        entry_id = self.config_entry.entry_id
        failures = self._hub.poll_failures(entry_id) + 1
        self._hub.set_poll_failures(entry_id, failures)
        if failures == FAILURES_BEFORE_ISSUE:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                unreachable_issue_id(self.config_entry.entry_id),
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_IMMICH_UNREACHABLE,
                data={"entry_id": entry_id},
                translation_placeholders={
                    "name": self.config_entry.title,
                    "url": self.client.base_url,
                },
            )

    def _record_success(self) -> None:
        entry_id = self.config_entry.entry_id
        failures = self._hub.poll_failures(entry_id)
        self._hub.set_poll_failures(entry_id, 0)
        if failures >= FAILURES_BEFORE_ISSUE:
            _LOGGER.info("Immich server of %s is reachable again", self.name)
        ir.async_delete_issue(self.hass, DOMAIN, unreachable_issue_id(entry_id))

    def _raise_deleted_album_issues(self, events: Iterable[WatchEvent]) -> None:
        entry_id = self.config_entry.entry_id
        for event in events:
            if event.type is not WatchEventType.ALBUM_DELETED:
                continue
            for route in self.routes:
                if event.album.id not in route.albums:
                    continue
                ir.async_create_issue(
                    self.hass,
                    DOMAIN,
                    album_issue_id(entry_id, route.route_id, event.album.id),
                    is_fixable=True,
                    is_persistent=True,
                    severity=ir.IssueSeverity.WARNING,
                    translation_key=ISSUE_ALBUM_DELETED,
                    translation_placeholders={
                        "album": event.album.name,
                        "route": route.name,
                    },
                    data={
                        "entry_id": entry_id,
                        "subentry_id": route.route_id,
                        "album_id": event.album.id,
                    },
                )

    # --- delivery ---------------------------------------------------------------

    def _schedule_delivery(self, events: list[WatchEvent]) -> None:
        if not events:
            return
        if not self.hass.is_running:
            self._held.extend(events)
            return
        self.config_entry.async_create_task(
            self.hass, self._async_deliver(events), f"{DOMAIN} immich delivery"
        )

    def _digest_only(self, route: RouteConfig) -> bool:
        """Return whether a route's events only go into its digest, whose media are
        fetched when it is sent (not now, for nothing)."""
        digests = self._hub.pipeline.digests
        return digests is not None and digests.replaces_immediate(route.route_id)

    async def _async_started(self, hass: HomeAssistant) -> None:
        held, self._held = self._held, []
        self._schedule_delivery(held)

    async def _async_deliver(self, events: list[WatchEvent]) -> None:
        """Hand each change to every route that wants it, with its media."""
        fetcher = MediaFetcher(self.client, web_url=self.watcher.web_url)
        entry_id = self.config_entry.entry_id
        async with self._delivery_lock:
            for event in events:
                for route in self.routes:
                    selected = route.select(event)
                    if selected is None:
                        continue
                    media = (
                        ()
                        if self._digest_only(route)
                        else await fetcher.async_for_route(route, selected.assets)
                    )
                    self._sink(route_event(selected, route, entry_id, media))
        if fetcher.auth_failed:
            self.config_entry.async_start_reauth(self.hass)
