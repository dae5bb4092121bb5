"""Setting up an Immich server entry: its coordinator and album routes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ...const import (
    DOMAIN,
    ISSUE_ALBUM_DELETED,
    ISSUE_IMMICH_UNREACHABLE,
    SIGNAL_SOURCE_UPDATED,
)
from ...runtime import BridgeHub, SourceRuntime
from ...sources.immich.diff import AlbumWatcher
from ...sources.immich.routes import RouteConfig, watched_albums
from .client_factory import CONF_EXTERNAL_URL, make_client
from .coordinator import STORE_VERSION, ImmichCoordinator, parse_state, store_key
from .scheduled import MemoryTimers


@dataclass(slots=True, kw_only=True)
class ImmichRuntime(SourceRuntime):
    """Runtime data of an Immich server entry: the coordinator polling it."""

    # Not in the repr: it holds the client (and so the API key).
    coordinator: ImmichCoordinator = field(repr=False)


type ImmichConfigEntry = ConfigEntry[ImmichRuntime]


def _route_configs(entry: ImmichConfigEntry) -> tuple[RouteConfig, ...]:
    return tuple(
        RouteConfig.from_data(
            subentry.subentry_id, subentry.title, entry.entry_id, subentry.data
        )
        for subentry in entry.subentries.values()
    )


@callback
def _remove_stale_issues(
    hass: HomeAssistant, entry: ImmichConfigEntry, routes: tuple[RouteConfig, ...]
) -> None:
    """Forget album issues of routes (or albums) no longer configured, and the
    issues of removed entries (the entities go with their subentry, by HA)."""
    albums = {(route.route_id, album) for route in routes for album in route.albums}
    for issue_id, issue in list(_our_issues(hass)):
        data = issue.data or {}
        owner = data.get("entry_id")
        if hass.config_entries.async_get_entry(str(owner)) is None or (
            owner == entry.entry_id
            and issue.translation_key == ISSUE_ALBUM_DELETED
            and (data.get("subentry_id"), data.get("album_id")) not in albums
        ):
            ir.async_delete_issue(hass, DOMAIN, issue_id)


def _our_issues(hass: HomeAssistant) -> Iterator[tuple[str, ir.IssueEntry]]:
    """Yield the Immich source's issues (album deleted, server unreachable)."""
    for (domain, issue_id), issue in ir.async_get(hass).issues.items():
        if domain == DOMAIN and issue.translation_key in (
            ISSUE_ALBUM_DELETED,
            ISSUE_IMMICH_UNREACHABLE,
        ):
            yield issue_id, issue


async def async_setup_immich(
    hass: HomeAssistant, hub: BridgeHub, entry: ImmichConfigEntry
) -> ImmichRuntime:
    """Load the seen-set, poll once, and route the changes of the watched albums."""
    routes = _route_configs(entry)
    pipeline_routes = tuple(r for route in routes for r in route.pipeline_routes())
    client = make_client(hass, entry.data)
    store: Store[dict[str, Any]] = Store(hass, STORE_VERSION, store_key(entry.entry_id))
    watcher = AlbumWatcher(
        client,
        # Links in notifications use the external address when one is set.
        web_url=entry.data.get(CONF_EXTERNAL_URL) or None,
        album_ids=watched_albums(routes),
        state=parse_state(await store.async_load(), entry.title),
        # Home Assistant's clock (processing time-outs follow it, frozen in tests).
        clock=lambda: dt_util.utcnow().timestamp(),
    )
    coordinator = ImmichCoordinator(
        hass,
        entry,
        hub=hub,
        client=client,
        watcher=watcher,
        store=store,
        routes=routes,
        sink=lambda event: hub.async_submit_event(entry, runtime, event),
    )
    runtime = ImmichRuntime(
        routes=pipeline_routes, problem=False, coordinator=coordinator
    )
    hub.set_routes(entry, pipeline_routes)
    _remove_stale_issues(hass, entry, routes)

    @callback
    def update_problem() -> None:
        problem = not coordinator.last_update_success
        if problem != runtime.problem:
            runtime.problem = problem
            async_dispatcher_send(hass, SIGNAL_SOURCE_UPDATED.format(entry.entry_id))

    entry.async_on_unload(coordinator.async_add_listener(update_problem))
    entry.async_on_unload(coordinator.async_flush)
    await coordinator.async_config_entry_first_refresh()
    MemoryTimers(hass, hub, entry, coordinator).start()
    return runtime
