"""A send_test button per destination."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .platform import async_add_kind_entities
from .runtime import NotifyBridgeConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NotifyBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the entities the entry's kind declares on this platform."""
    async_add_kind_entities(entry, Platform.BUTTON, async_add_entities)
