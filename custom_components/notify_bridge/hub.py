"""The integration-wide hub: one pipeline, the destinations of every target entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.entity import Entity
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .const import (
    ATTR_DISPATCH_ID,
    ATTR_STATUS,
    ATTR_SUMMARY,
    DOMAIN,
    EVENT_BRIDGE_EVENT,
    EVENT_DISPATCHED,
    SIGNAL_DESTINATION_UPDATED,
    SIGNAL_SOURCE_UPDATED,
)
from .pipeline.engine import Pipeline
from .pipeline.models import BridgeEvent, DeliveryResult, Destination, DispatchSummary

if TYPE_CHECKING:
    from .pipeline.models import Route

DATA_HUB: HassKey[NotifyBridgeHub] = HassKey(DOMAIN)


@dataclass(slots=True)
class DestinationRuntime:
    """A destination and the delivery stats its entities show."""

    destination: Destination
    entry_id: str
    failed_deliveries: int = 0
    last_delivery: datetime | None = None
    last_result: DeliveryResult | None = None


@dataclass(slots=True)
class TargetRuntime:
    """Runtime data of a target entry."""

    destinations: dict[str, DestinationRuntime] = field(default_factory=dict)


@dataclass(slots=True)
class SourceRuntime:
    """Runtime data of a source entry."""

    routes: tuple[Route, ...] = ()
    events: int = 0
    last_event: BridgeEvent | None = None
    # None: the source has no connection that can fail (no `problem` binary sensor).
    # A kind that has one sets it and sends SIGNAL_SOURCE_UPDATED when it changes.
    problem: bool | None = None
    # Extra entities a kind adds to the source's device, by platform.
    extra_entities: dict[Platform, list[Entity]] = field(default_factory=dict)


type NotifyBridgeConfigEntry = ConfigEntry[TargetRuntime | SourceRuntime]


class NotifyBridgeHub:
    """Owns the pipeline and knows every loaded destination."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Create the pipeline; destinations register as their entries load."""
        self.hass = hass
        self.destinations: dict[str, DestinationRuntime] = {}
        self.pipeline = Pipeline(self.resolve_destination)
        self.pipeline.add_listener(self._on_summary)

    @callback
    def register_destination(self, runtime: DestinationRuntime) -> CALLBACK_TYPE:
        """Make a destination reachable; returns the function that removes it."""
        dest_id = runtime.destination.destination_id
        self.destinations[dest_id] = runtime

        @callback
        def unregister() -> None:
            self.destinations.pop(dest_id, None)

        return unregister

    @callback
    def resolve_destination(self, key: str) -> Destination | None:
        """Return the destination behind a notify entity id (or a destination id)."""
        runtime = self.destinations.get(key)
        if runtime is None:
            entry = er.async_get(self.hass).async_get(key)
            if entry is None or entry.platform != DOMAIN:
                return None
            runtime = self.destinations.get(entry.unique_id)
        return None if runtime is None else runtime.destination

    @callback
    def is_destination_entity(self, entity_id: str) -> bool:
        """Return whether an entity id is one of this integration's notify entities."""
        entry = er.async_get(self.hass).async_get(entity_id)
        return (
            entry is not None
            and entry.platform == DOMAIN
            and entry.domain == Platform.NOTIFY
        )

    @callback
    def set_routes(
        self, entry: NotifyBridgeConfigEntry, routes: tuple[Route, ...]
    ) -> None:
        """Give a source entry's routes to the router until the entry unloads."""
        router = self.pipeline.router
        router.set_routes(entry.entry_id, routes)
        entry.async_on_unload(lambda: router.remove_source(entry.entry_id))

    @callback
    def async_submit_event(
        self, entry: NotifyBridgeConfigEntry, runtime: SourceRuntime, event: BridgeEvent
    ) -> None:
        """Hand a source event to the pipeline when a route wants it."""
        routes = self.pipeline.router.match(event)
        if not routes:
            return
        runtime.events += 1
        runtime.last_event = event
        self.hass.bus.async_fire(
            EVENT_BRIDGE_EVENT,
            {
                "source_entry_id": event.source_entry_id,
                "source": event.source_kind,
                "event_type": event.event_type,
                "request_id": event.request_id,
                "routes": [route.route_id for route in routes],
            },
        )
        async_dispatcher_send(self.hass, SIGNAL_SOURCE_UPDATED.format(entry.entry_id))
        # Kept by the entry until done; unloading waits for it, so nothing in flight
        # is lost.
        entry.async_create_task(
            self.hass,
            self.pipeline.async_handle_event(event),
            f"{DOMAIN} event {event.event_type}",
        )

    @callback
    def _on_summary(self, summary: DispatchSummary) -> None:
        """Update destination stats and tell the bus; runs on the event loop only."""
        now = dt_util.utcnow()
        for result in summary.results:
            runtime = self.destinations.get(result.destination_id)
            if runtime is None:
                continue
            runtime.last_result = result
            if result.success:
                runtime.last_delivery = now
            else:
                runtime.failed_deliveries += 1
            async_dispatcher_send(
                self.hass, SIGNAL_DESTINATION_UPDATED.format(result.destination_id)
            )
        self.hass.bus.async_fire(
            EVENT_DISPATCHED,
            {
                ATTR_DISPATCH_ID: summary.dispatch_id,
                ATTR_STATUS: summary.status.value,
                ATTR_SUMMARY: summary.as_dict(),
            },
        )
