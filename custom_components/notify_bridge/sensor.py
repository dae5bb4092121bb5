"""Sensors: delivery stats per destination, last event per source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import DestinationEntity, SourceEntity, add_destination_entities
from .hub import (
    DATA_HUB,
    DestinationRuntime,
    NotifyBridgeConfigEntry,
    NotifyBridgeHub,
    TargetRuntime,
)

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class DestinationSensorDescription(SensorEntityDescription):
    """A destination sensor and how it reads its value."""

    value_fn: Callable[[NotifyBridgeHub, DestinationRuntime], int | datetime | None]


DESTINATION_SENSORS = (
    DestinationSensorDescription(
        key="failed_deliveries",
        translation_key="failed_deliveries",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda hub, runtime: runtime.failed_deliveries,
    ),
    DestinationSensorDescription(
        key="last_delivery",
        translation_key="last_delivery",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda hub, runtime: runtime.last_delivery,
    ),
    DestinationSensorDescription(
        key="backlog",
        translation_key="backlog",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda hub, runtime: hub.policy.backlog(
            runtime.destination.destination_id
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NotifyBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add destination sensors for a target, the last-event sensor for a source."""
    runtime = entry.runtime_data
    if isinstance(runtime, TargetRuntime):
        add_destination_entities(
            entry,
            async_add_entities,
            lambda destination: [
                DestinationSensor(destination, description)
                for description in DESTINATION_SENSORS
            ],
        )
    else:
        async_add_entities([LastEventSensor(entry)])
        async_add_entities(runtime.extra_entities.get(Platform.SENSOR, []))


class DestinationSensor(DestinationEntity, SensorEntity):
    """A delivery statistic of one destination."""

    entity_description: DestinationSensorDescription

    def __init__(
        self, runtime: DestinationRuntime, description: DestinationSensorDescription
    ) -> None:
        """Describe the sensor."""
        super().__init__(runtime, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> int | datetime | None:
        """Return the statistic."""
        return self.entity_description.value_fn(self.hass.data[DATA_HUB], self.runtime)


class LastEventSensor(SourceEntity, SensorEntity):
    """When the source last produced an event a route wanted, and which."""

    _attr_translation_key = "last_event"
    _attr_device_class = SensorDeviceClass.TIMESTAMP

    def __init__(self, entry: NotifyBridgeConfigEntry) -> None:
        """Describe the sensor."""
        super().__init__(entry, "last_event")

    @property
    def native_value(self) -> datetime | None:
        """Return when the last routed event happened."""
        event = self.entry.runtime_data.last_event
        return None if event is None else event.occurred_at

    @property
    def extra_state_attributes(self) -> dict[str, str | int | None]:
        """Return the last event's type and how many events were routed."""
        runtime = self.entry.runtime_data
        event = runtime.last_event
        return {
            "event_type": None if event is None else event.event_type,
            "events": runtime.events,
        }
