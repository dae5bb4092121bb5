"""The bot's own entity, on the bot entry's device: is delivering through it failing?"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.const import EntityCategory
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from ...const import DOMAIN, SIGNAL_DESTINATION_UPDATED
from .setup import TelegramConfigEntry


class BotProblemSensor(BinarySensorEntity):
    """On while the last delivery to any of the bot's chats failed (the bot is
    blocked, Telegram unreachable, ...); which chats says `failing_chats`."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_device_class = BinarySensorDeviceClass.PROBLEM
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "bot_problem"

    def __init__(self, entry: TelegramConfigEntry) -> None:
        """Sit on the bot entry's device (the glue created it)."""
        self.entry = entry
        self._attr_unique_id = f"{entry.entry_id}_bot_problem"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, entry.entry_id)})

    async def async_added_to_hass(self) -> None:
        """Refresh whenever a dispatch touched one of the bot's chats."""
        for dest_id in self.entry.runtime_data.destinations:
            self.async_on_remove(
                async_dispatcher_connect(
                    self.hass,
                    SIGNAL_DESTINATION_UPDATED.format(dest_id),
                    self.async_write_ha_state,
                )
            )

    def _failing(self) -> list[str]:
        return [
            runtime.destination.name
            for runtime in self.entry.runtime_data.destinations.values()
            if runtime.consecutive_failures
        ]

    @property
    def is_on(self) -> bool:
        """Return whether a chat's last delivery failed."""
        return bool(self._failing())

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Name the chats whose last delivery failed."""
        return {"failing_chats": self._failing()}


def bot_entities(entry: TelegramConfigEntry) -> Iterable[tuple[str | None, Entity]]:
    """Return the bot's own entities (no subentry: they belong to the entry)."""
    return [(None, BotProblemSensor(entry))]
