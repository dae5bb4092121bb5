"""A problem binary sensor per source that has a connection which can fail."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import SourceEntity
from .hub import NotifyBridgeConfigEntry, SourceRuntime

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NotifyBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the problem sensor and any extra binary sensors of a source."""
    runtime = entry.runtime_data
    if not isinstance(runtime, SourceRuntime):
        return
    if runtime.problem is not None:
        async_add_entities([SourceProblemSensor(entry)])
    async_add_entities(runtime.extra_entities.get(Platform.BINARY_SENSOR, []))


class SourceProblemSensor(SourceEntity, BinarySensorEntity):
    """On while the source cannot reach its service."""

    _attr_device_class = BinarySensorDeviceClass.PROBLEM
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, entry: NotifyBridgeConfigEntry) -> None:
        """Describe the sensor."""
        super().__init__(entry, "problem")

    @property
    def is_on(self) -> bool:
        """Return whether the source has a problem."""
        return bool(self.entry.runtime_data.problem)
