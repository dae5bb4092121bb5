"""A send_test button per destination."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import TEST_MESSAGE
from .entity import DestinationEntity, add_destination_entities
from .hub import DestinationRuntime, NotifyBridgeConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NotifyBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the test button of each destination."""
    add_destination_entities(
        entry, async_add_entities, lambda destination: [SendTestButton(destination)]
    )


class SendTestButton(DestinationEntity, ButtonEntity):
    """Send a test notification to the destination."""

    _attr_translation_key = "send_test"
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, runtime: DestinationRuntime) -> None:
        """Describe the button."""
        super().__init__(runtime, "send_test")

    async def async_press(self) -> None:
        """Send the test message; a failure is shown to whoever pressed."""
        # A test pressed at night must arrive now, not in the morning digest.
        await self.async_send_text(
            TEST_MESSAGE, "Notify Bridge", respect_quiet_hours=False
        )
