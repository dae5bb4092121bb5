"""One notify entity per destination, so plain notify.send_message works on it."""

from __future__ import annotations

from homeassistant.components.notify import NotifyEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import DestinationEntity, add_destination_entities
from .hub import DestinationRuntime, NotifyBridgeConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NotifyBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a notify entity for each destination of a target entry."""
    add_destination_entities(
        entry,
        async_add_entities,
        lambda destination: [DestinationNotifyEntity(destination)],
    )


class DestinationNotifyEntity(DestinationEntity, NotifyEntity):
    """Send through the pipeline to this one destination."""

    _attr_name = None
    _attr_translation_key = "destination"

    def __init__(self, runtime: DestinationRuntime) -> None:
        """Name the entity after its device (the destination)."""
        super().__init__(runtime, None)

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Deliver a message; a failed delivery is an error the caller sees."""
        await self.async_send_text(message, title)
