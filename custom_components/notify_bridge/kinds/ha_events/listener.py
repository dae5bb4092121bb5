"""The ha_events source: Home Assistant's own event bus."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import CALLBACK_TYPE, Context, Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from ...const import (
    CONF_DESTINATIONS,
    CONF_EVENT_DATA,
    CONF_EVENT_TYPE,
    CONF_TEMPLATE,
    CONF_TITLE_TEMPLATE,
    DOMAIN,
    EVENT_BRIDGE_EVENT,
    EVENT_DISPATCHED,
    EntryKind,
)
from ...pipeline.models import BridgeEvent, Route, freeze, route_policy

# Listening to what the bridge itself fires would feed it its own output forever.
OWN_EVENTS = frozenset({EVENT_BRIDGE_EVENT, EVENT_DISPATCHED})


def route_from_subentry(source_entry_id: str, subentry: ConfigSubentry) -> Route:
    """Build the pipeline route of one ha_events route subentry."""
    data = subentry.data
    match: Mapping[str, Any] = data.get(CONF_EVENT_DATA) or {}
    return Route(
        route_id=subentry.subentry_id,
        name=subentry.title,
        source_entry_id=source_entry_id,
        event_types=frozenset({data[CONF_EVENT_TYPE]}),
        # Route matches are written against the event's data, found under "data".
        match=freeze({f"data.{key}": value for key, value in match.items()}),
        destinations=tuple(data.get(CONF_DESTINATIONS, ())),
        template=data[CONF_TEMPLATE],
        title_template=data.get(CONF_TITLE_TEMPLATE) or None,
        **route_policy(data),
    )


def bridge_event(source_entry_id: str, event: Event) -> BridgeEvent:
    """Normalize a bus event; templates see `data`, `origin` and `context`."""
    return BridgeEvent(
        source_entry_id=source_entry_id,
        source_kind=EntryKind.HA_EVENTS,
        # HA types event types as EventType, not str (at runtime a str subclass).
        event_type=str(event.event_type),
        data=freeze(
            {
                "data": dict(event.data),
                "origin": str(event.origin),
                "context": {
                    "id": event.context.id,
                    "user_id": event.context.user_id,
                },
            }
        ),
        occurred_at=event.time_fired,
        request_id=event.context.id,
        # Coalescing groups events about the same entity (or of the same type).
        item_key=str(event.data.get("entity_id") or event.event_type),
    )


@callback
def async_listen(
    hass: HomeAssistant,
    routes: Iterable[Route],
    handle: Callable[[BridgeEvent], None],
    source_entry_id: str,
    caused_by_delivery: Callable[[Context], bool] = lambda _context: False,
) -> list[CALLBACK_TYPE]:
    """Listen once per event type the routes ask for; returns the unsubscribers."""
    event_types = {t for route in routes for t in route.event_types} - OWN_EVENTS

    registry = er.async_get(hass)

    @callback
    def on_event(event: Event) -> None:
        if caused_by_delivery(event.context):
            # A notify service call we made (or the state change it caused): a
            # route on it would feed on its own deliveries.
            return
        entity_id = event.data.get("entity_id")
        if isinstance(entity_id, str):
            entry = registry.async_get(entity_id)
            if entry is not None and entry.platform == DOMAIN:
                # Our own entities change when we deliver (events, backlog): a
                # state_changed route on them would feed on itself forever.
                return
        handle(bridge_event(source_entry_id, event))

    return [hass.bus.async_listen(event_type, on_event) for event_type in event_types]
