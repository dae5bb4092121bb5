"""The entities every kind shares, and the factories kinds declare them with.

Devices: one per entry (created by the glue, manufacturer = the service); each
destination (and each route that has entities) gets its own device linked to the
entry's with `via_device`. Entities of a subentry are added with its
`config_subentry_id`, so Home Assistant removes them with the subentry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.components.button import ButtonEntity
from homeassistant.components.event import EventEntity
from homeassistant.components.notify import NotifyEntity, NotifyEntityFeature
from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from ...const import (
    DOMAIN,
    SIGNAL_DESTINATION_UPDATED,
    SIGNAL_ROUTE_EVENT,
    SIGNAL_SOURCE_EVENT,
    SIGNAL_SOURCE_UPDATED,
    TEST_MESSAGE,
)
from ...pipeline.digest import CONF_SCHEDULE
from ...pipeline.models import (
    BridgeEvent,
    DispatchSummary,
    Notification,
    OutputFormat,
    Route,
)
from ...pipeline.schedule import Schedule
from ...runtime import (
    DATA_HUB,
    BridgeHub,
    DestinationRuntime,
    EntityFactory,
    EntryRuntime,
    SourceConfigEntry,
    TargetConfigEntry,
)


def raise_if_lost(summary: DispatchSummary) -> None:
    """Raise a translated error when a destination failed without a later retry."""
    if summary.lost:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="delivery_failed",
            translation_placeholders={
                "dispatch_id": summary.dispatch_id,
                "errors": "; ".join(summary.errors),
            },
        )


def subentry_device[R: EntryRuntime](
    entry: ConfigEntry[R], subentry_id: str, name: str, model: str
) -> DeviceInfo:
    """Return the device of a destination or route, linked to its entry's device."""
    return DeviceInfo(
        identifiers={(DOMAIN, subentry_id)},
        name=name,
        model=model,
        via_device_id=entry.runtime_data.device_id,
        entry_type=DeviceEntryType.SERVICE,
    )


class DestinationEntity(Entity):
    """An entity of one destination; unique ids derive from the subentry id."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self, runtime: DestinationRuntime, key: str | None, device: DeviceInfo
    ) -> None:
        """Attach to the destination's device."""
        self.runtime = runtime
        dest_id = runtime.destination.destination_id
        self._attr_unique_id = dest_id if key is None else f"{dest_id}_{key}"
        self._attr_device_info = device

    @property
    def hub(self) -> BridgeHub:
        """Return the integration's hub."""
        return self.hass.data[DATA_HUB]

    @property
    def available(self) -> bool:
        """Unavailable while the target cannot deliver at all (token refused); an
        unloaded entry's entities are made unavailable by Home Assistant."""
        return self.runtime.cannot_deliver is None

    async def async_added_to_hass(self) -> None:
        """Refresh when a dispatch touched this destination."""
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_DESTINATION_UPDATED.format(
                    self.runtime.destination.destination_id
                ),
                self.async_write_ha_state,
            )
        )

    async def async_send_text(
        self, message: str, title: str | None, *, respect_quiet_hours: bool = True
    ) -> DispatchSummary:
        """Deliver text to this destination; a failure is an error the caller sees
        (held by quiet hours or kept in the outbox for a retry is not a failure)."""
        summary = await self.hub.pipeline.async_send(
            [self.runtime.destination.destination_id],
            # notify.send_message text is plain text, never markup.
            lambda _dest: Notification(
                message=message, title=title, output_format=OutputFormat.PLAIN
            ),
            respect_quiet_hours=respect_quiet_hours,
        )
        raise_if_lost(summary)
        return summary


class DestinationNotifyEntity(DestinationEntity, NotifyEntity):
    """Send through the pipeline to this one destination."""

    _attr_name = None
    _attr_translation_key = "destination"
    # Without it the UI hides the title field of notify.send_message.
    _attr_supported_features = NotifyEntityFeature.TITLE

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Deliver a message; a failed delivery is an error the caller sees."""
        await self.async_send_text(message, title)


@dataclass(frozen=True, kw_only=True)
class DestinationSensorDescription(SensorEntityDescription):
    """A destination sensor and how it reads its value."""

    value_fn: Callable[[BridgeHub, DestinationRuntime], int | datetime | None]
    # Puts a value saved before a reload or restart back into the runtime (None: the
    # value lives elsewhere, e.g. the backlog in the persisted outbox).
    restore_fn: Callable[[DestinationRuntime, Any], None] | None = None


def _restore_failed(runtime: DestinationRuntime, value: Any) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        runtime.failed_deliveries = max(runtime.failed_deliveries, int(value))


def _restore_last_delivery(runtime: DestinationRuntime, value: Any) -> None:
    if isinstance(value, datetime) and runtime.last_delivery is None:
        runtime.last_delivery = value


DESTINATION_SENSORS = (
    DestinationSensorDescription(
        key="failed_deliveries",
        translation_key="failed_deliveries",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        # A diagnostic statistic: the destination_failing repair issue and the
        # diagnostics already say when deliveries fail (entity-disabled-by-default).
        entity_registry_enabled_default=False,
        value_fn=lambda hub, runtime: runtime.failed_deliveries,
        restore_fn=_restore_failed,
    ),
    DestinationSensorDescription(
        key="last_delivery",
        translation_key="last_delivery",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda hub, runtime: runtime.last_delivery,
        restore_fn=_restore_last_delivery,
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


class DestinationSensor(DestinationEntity, RestoreSensor):
    """A delivery statistic of one destination; counters and the last delivery
    survive reloads (every subentry edit reloads) and restarts."""

    entity_description: DestinationSensorDescription

    def __init__(
        self,
        runtime: DestinationRuntime,
        description: DestinationSensorDescription,
        device: DeviceInfo,
    ) -> None:
        """Describe the sensor."""
        super().__init__(runtime, description.key, device)
        self.entity_description = description

    async def async_added_to_hass(self) -> None:
        """Take back the value saved when the entity last went away."""
        await super().async_added_to_hass()
        restore = self.entity_description.restore_fn
        if restore is not None and (last := await self.async_get_last_sensor_data()):
            restore(self.runtime, last.native_value)

    @property
    def native_value(self) -> int | datetime | None:
        """Return the statistic."""
        return self.entity_description.value_fn(self.hub, self.runtime)


class SendTestButton(DestinationEntity, ButtonEntity):
    """Send a test notification to the destination."""

    _attr_translation_key = "send_test"
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    async def async_press(self) -> None:
        """Send the test message; a failure is shown to whoever pressed."""
        # A test pressed at night must arrive now, not in the morning digest.
        summary = await self.async_send_text(
            TEST_MESSAGE, "Notify Bridge", respect_quiet_hours=False
        )
        tried = [r for r in summary.results if not r.success and r.attempts]
        if tried and not summary.delivered:
            # Kept in the outbox for a retry, but whoever pressed wants to know now
            # (a translated error: the UI shows it, the log has no traceback).
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="send_test_failed",
                translation_placeholders={
                    "destination": self.runtime.destination.name,
                    "error": "; ".join(e for r in tried for e in r.errors),
                },
            )


type DestinationBuild = Callable[[DestinationRuntime, DeviceInfo], Iterable[Entity]]


def _per_destination(model: str, build: DestinationBuild) -> EntityFactory:
    def factory(entry: TargetConfigEntry) -> Iterator[tuple[str | None, Entity]]:
        for subentry_id, runtime in entry.runtime_data.destinations.items():
            device = subentry_device(
                entry, subentry_id, runtime.destination.name, model
            )
            for entity in build(runtime, device):
                yield subentry_id, entity

    return factory


def target_entities(model: str) -> dict[Platform, EntityFactory]:
    """Return the entities of every target: per destination a notify entity,
    delivery sensors and a test button, on a device named `model` (e.g. "Chat")."""
    return {
        Platform.BUTTON: _per_destination(
            model,
            lambda runtime, device: [SendTestButton(runtime, "send_test", device)],
        ),
        Platform.NOTIFY: _per_destination(
            model,
            lambda runtime, device: [DestinationNotifyEntity(runtime, None, device)],
        ),
        Platform.SENSOR: _per_destination(
            model,
            lambda runtime, device: [
                DestinationSensor(runtime, description, device)
                for description in DESTINATION_SENSORS
            ],
        ),
    }


# --- sources --------------------------------------------------------------------------


class SourceEntity(Entity):
    """An entity of one source entry, on the entry's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: SourceConfigEntry, key: str) -> None:
        """Attach to the entry's device (created by the glue)."""
        self.entry = entry
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, entry.entry_id)})

    async def async_added_to_hass(self) -> None:
        """Refresh when the source's state changed."""
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_SOURCE_UPDATED.format(self.entry.entry_id),
                self.async_write_ha_state,
            )
        )


class SourceProblemSensor(SourceEntity, BinarySensorEntity):
    """On while the source cannot reach its service."""

    _attr_device_class = BinarySensorDeviceClass.PROBLEM
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    @property
    def is_on(self) -> bool:
        """Return whether the source has a problem."""
        return bool(self.entry.runtime_data.problem)


class SourceEventEntity(SourceEntity, EventEntity):
    """Fires for every event a route of the source wanted, with its type and data."""

    _attr_translation_key = "routed_event"

    def __init__(self, entry: SourceConfigEntry, event_types: Iterable[str]) -> None:
        """Start with the event types the kind and its routes name."""
        super().__init__(entry, "event")
        types = {t for route in entry.runtime_data.routes for t in route.event_types}
        self._attr_event_types = sorted(types | set(event_types))
        self._signal = SIGNAL_SOURCE_EVENT.format(entry.entry_id)

    async def async_added_to_hass(self) -> None:
        """Fire when the hub routes one of the source's (or route's) events."""
        self.async_on_remove(
            async_dispatcher_connect(self.hass, self._signal, self._async_routed)
        )

    @callback
    def _async_routed(self, event: BridgeEvent) -> None:
        # Routes may match any type (a generic webhook): a new one is added, so an
        # automation can pick it from the entity's event types from then on.
        if event.event_type not in self._attr_event_types:
            self._attr_event_types = sorted([*self._attr_event_types, event.event_type])
        self._trigger_event(event.event_type, self._attributes(event))
        self.async_write_ha_state()

    def _attributes(self, event: BridgeEvent) -> dict[str, Any]:
        return _event_attributes(event)


class RouteEventEntity(SourceEventEntity):
    """Fires for every event one route wanted: an automation per route needs no
    filter on the event data."""

    _attr_translation_key = "route_event"

    def __init__(
        self,
        entry: SourceConfigEntry,
        route: Route,
        event_types: Iterable[str],
        device: DeviceInfo,
    ) -> None:
        """Attach to the route's device; the kind's types unless the route names some."""
        super().__init__(entry, event_types)
        self._attr_unique_id = f"{entry.entry_id}_{route.route_id}_event"
        self._attr_device_info = device
        self._attr_event_types = sorted(route.event_types or event_types)
        self._signal = SIGNAL_ROUTE_EVENT.format(route.route_id)
        self._route_id = route.route_id

    def _attributes(self, event: BridgeEvent) -> dict[str, Any]:
        """Add which destinations the event could not reach: they were deleted, and
        the event is kept here for the user to see (Repairs names the fix)."""
        attributes = super()._attributes(event)
        if lost := self.hass.data[DATA_HUB].lost_destinations(self._route_id):
            attributes["lost_destinations"] = list(lost)
        return attributes


def digest_button_key(route_id: str) -> str:
    """Return the key (unique id after the entry id) of a route's digest button."""
    return f"{route_id}_send_digest"


class SendDigestButton(SourceEntity, ButtonEntity):
    """Send a scheduled route's digest now (what it collected so far)."""

    _attr_translation_key = "send_digest"

    def __init__(
        self, entry: SourceConfigEntry, route_id: str, device: DeviceInfo
    ) -> None:
        """Attach to the route's device."""
        super().__init__(entry, digest_button_key(route_id))
        self._route_id = route_id
        self._attr_device_info = device

    async def async_press(self) -> None:
        """Send now, also during quiet hours; a failure is shown to whoever pressed."""
        digests = self.hass.data[DATA_HUB].digests
        if not digests.scheduled(self._route_id):
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="not_a_scheduled_route",
                translation_placeholders={"route": self._route_id},
            )
        for summary in await digests.async_send_now(
            self._route_id, respect_quiet_hours=False
        ):
            raise_if_lost(summary)


def _valid_schedule(raw: Any) -> bool:
    """Return whether stored route options hold a schedule that runs (data edited
    by hand may not: such a route notifies at once and has no button)."""
    try:
        Schedule.from_dict(raw)
    except ValueError:
        return False
    return True


def _digest_buttons(model: str) -> EntityFactory:
    """A "send digest now" button per route with a schedule, on the route's device."""

    def factory(entry: SourceConfigEntry) -> Iterator[tuple[str | None, Entity]]:
        for route_id, sub in entry.subentries.items():
            if _valid_schedule(sub.data.get(CONF_SCHEDULE)):
                device = subentry_device(entry, route_id, sub.title, model)
                yield route_id, SendDigestButton(entry, route_id, device)

    return factory


def _route_events(known: tuple[str, ...], model: str) -> EntityFactory:
    def factory(entry: SourceConfigEntry) -> Iterator[tuple[str | None, Entity]]:
        routes = {route.route_id: route for route in entry.runtime_data.routes}
        for route_id, route in routes.items():
            types = {
                t
                for r in entry.runtime_data.routes
                if r.route_id == route_id
                for t in r.event_types
            }
            merged = dataclasses.replace(route, event_types=frozenset(types))
            device = subentry_device(entry, route_id, route.name, model)
            yield route_id, RouteEventEntity(entry, merged, known, device)

    return factory


def _event_attributes(event: BridgeEvent) -> dict[str, Any]:
    return {
        "data": _thaw(event.data),
        "request_id": event.request_id,
        "occurred_at": event.occurred_at.isoformat(),
    }


def _thaw(value: Any) -> Any:
    """Return plain dicts and lists for the frozen event data (state attributes)."""
    if isinstance(value, Mapping):
        return {str(key): _thaw(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_thaw(item) for item in value]
    return value


def source_entities(
    *,
    route_model: str,
    problem: bool = False,
    event_types: Iterable[str] = (),
    extra: Mapping[Platform, EntityFactory] | None = None,
) -> dict[Platform, EntityFactory]:
    """Return the entities of a source: its event entity and one per route (on the
    route's device), a "send digest now" button per scheduled route, a problem
    sensor when the source has a connection that can fail, and the kind's own
    (`extra`)."""
    known = tuple(event_types)
    per_route = _route_events(known, route_model)
    factories: dict[Platform, EntityFactory] = {
        Platform.EVENT: lambda entry: [
            (None, SourceEventEntity(entry, known)),
            *per_route(entry),
        ],
        Platform.BUTTON: _digest_buttons(route_model),
    }
    if problem:
        factories[Platform.BINARY_SENSOR] = lambda entry: (
            [(None, SourceProblemSensor(entry, "problem"))]
            if entry.runtime_data.problem is not None
            else []
        )
    for platform, factory in (extra or {}).items():
        factories[platform] = _chain(factories.get(platform), factory)
    return factories


def _chain(first: EntityFactory | None, second: EntityFactory) -> EntityFactory:
    if first is None:
        return second
    return lambda entry: [*first(entry), *second(entry)]
