"""Notify Bridge: events from self-hosted services to well-formed notifications."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import CONF_KIND, DOMAIN, SUBENTRY_DESTINATION, SUBENTRY_ROUTE, EntryKind
from .hub import (
    DATA_HUB,
    DestinationRuntime,
    NotifyBridgeConfigEntry,
    NotifyBridgeHub,
    SourceRuntime,
    TargetRuntime,
)
from .services import async_setup_services
from .sources import ha_events
from .targets.home_assistant import HomeAssistantDestination

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

TARGET_PLATFORMS = [Platform.BUTTON, Platform.NOTIFY, Platform.SENSOR]
SOURCE_PLATFORMS = [Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Create the hub and register the actions, once for all entries."""
    hass.data[DATA_HUB] = NotifyBridgeHub(hass)
    async_setup_services(hass)
    return True


def _platforms(entry: NotifyBridgeConfigEntry) -> list[Platform]:
    if entry.data[CONF_KIND] == EntryKind.HOME_ASSISTANT:
        return TARGET_PLATFORMS
    return SOURCE_PLATFORMS


async def async_setup_entry(
    hass: HomeAssistant, entry: NotifyBridgeConfigEntry
) -> bool:
    """Set up a target or a source entry."""
    hub = hass.data[DATA_HUB]
    if entry.data[CONF_KIND] == EntryKind.HOME_ASSISTANT:
        entry.runtime_data = _setup_home_assistant_target(hass, hub, entry)
    else:
        entry.runtime_data = _setup_ha_events_source(hass, hub, entry)
    await hass.config_entries.async_forward_entry_setups(entry, _platforms(entry))
    # Subentries added, edited or removed: rebuild destinations and routes.
    entry.async_on_unload(entry.add_update_listener(_async_reload_entry))
    return True


def _setup_home_assistant_target(
    hass: HomeAssistant, hub: NotifyBridgeHub, entry: NotifyBridgeConfigEntry
) -> TargetRuntime:
    runtime = TargetRuntime()
    for subentry in entry.subentries.values():
        if subentry.subentry_type != SUBENTRY_DESTINATION:
            continue
        destination = DestinationRuntime(
            destination=HomeAssistantDestination(
                hass, subentry.subentry_id, subentry.title, subentry.data
            ),
            entry_id=entry.entry_id,
        )
        runtime.destinations[subentry.subentry_id] = destination
        entry.async_on_unload(hub.register_destination(destination))
    return runtime


def _setup_ha_events_source(
    hass: HomeAssistant, hub: NotifyBridgeHub, entry: NotifyBridgeConfigEntry
) -> SourceRuntime:
    routes = tuple(
        ha_events.route_from_subentry(entry.entry_id, subentry)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_ROUTE
    )
    runtime = SourceRuntime(routes=routes)
    hub.pipeline.router.set_routes(entry.entry_id, routes)
    entry.async_on_unload(lambda: hub.pipeline.router.remove_source(entry.entry_id))
    for unsubscribe in ha_events.async_listen(
        hass,
        routes,
        lambda event: hub.async_submit_event(entry, runtime, event),
        entry.entry_id,
    ):
        entry.async_on_unload(unsubscribe)
    return runtime


async def async_unload_entry(
    hass: HomeAssistant, entry: NotifyBridgeConfigEntry
) -> bool:
    """Unload an entry; its listeners and tasks go with it (async_on_unload)."""
    return await hass.config_entries.async_unload_platforms(entry, _platforms(entry))


async def _async_reload_entry(
    hass: HomeAssistant, entry: NotifyBridgeConfigEntry
) -> None:
    await hass.config_entries.async_reload(entry.entry_id)
