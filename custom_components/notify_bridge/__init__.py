"""Notify Bridge: events from self-hosted services to well-formed notifications."""

from __future__ import annotations

from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from .catalog import KINDS
from .const import CONF_KIND, DOMAIN
from .hub import NotifyBridgeHub
from .runtime import DATA_HUB, NotifyBridgeConfigEntry
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Create the hub and register the actions, once for all entries."""
    hub = NotifyBridgeHub(hass)
    hass.data[DATA_HUB] = hub
    await hub.async_load()

    async def release_coalescing(_event: Event) -> None:
        # Windows still coalescing when Home Assistant stops are delivered, not lost.
        await hub.pipeline.coalescer.async_release()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, release_coalescing)
    async_setup_services(hass)
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: NotifyBridgeConfigEntry
) -> bool:
    """Set up a target or a source entry through its kind."""
    kind = KINDS[entry.data[CONF_KIND]]
    # The entry's device: its destinations' and routes' devices link to it.
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer=kind.manufacturer,
        entry_type=dr.DeviceEntryType.SERVICE,
    )
    hub = hass.data[DATA_HUB]
    # Before the source starts: an "instead" route's first event goes to its digest.
    await hub.digests.async_setup_entry(entry, kind.digest_media)
    runtime = await kind.setup(hass, hub, entry)
    runtime.device_id = device.id
    entry.runtime_data = runtime
    await hass.config_entries.async_forward_entry_setups(entry, kind.platforms)
    hub.digests.start_entry(entry)
    # Subentries added, edited or removed: rebuild destinations and routes.
    entry.async_on_unload(entry.add_update_listener(_async_reload_entry))
    # Loaded (its entities registered): do routes name destinations that are gone?
    entry.async_on_unload(
        entry.async_on_state_change(hass.data[DATA_HUB].lost.async_check)
    )
    return True


async def async_unload_entry(
    hass: HomeAssistant, entry: NotifyBridgeConfigEntry
) -> bool:
    """Unload an entry; its listeners and tasks go with it (async_on_unload)."""
    platforms = KINDS[entry.data[CONF_KIND]].platforms
    unloaded = await hass.config_entries.async_unload_platforms(entry, platforms)
    others = [
        other
        for other in hass.config_entries.async_loaded_entries(DOMAIN)
        if other.entry_id != entry.entry_id
    ]
    if unloaded and not others:
        # A debug window never outlives the last entry.
        hass.data[DATA_HUB].debug_window.stop()
    return unloaded


async def async_remove_entry(
    hass: HomeAssistant, entry: NotifyBridgeConfigEntry
) -> None:
    """Delete what a removed entry stored (seen-sets, replay ids, file_id caches,
    its routes' digests)."""
    await hass.data[DATA_HUB].digests.async_forget_entry(entry)
    for key in KINDS[entry.data[CONF_KIND]].store_keys(entry):
        await Store[dict[str, Any]](hass, 1, key).async_remove()


async def _async_reload_entry(
    hass: HomeAssistant, entry: NotifyBridgeConfigEntry
) -> None:
    await hass.config_entries.async_reload(entry.entry_id)
