"""What an event route is previewed with: a sample bus event of the route's type."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import Context, Event, EventOrigin

from ...const import CONF_EVENT_TYPE, CONF_TEMPLATE
from ...pipeline.models import BridgeEvent, Route
from ...runtime import RoutePreview
from ..shared.preview import unsaved_subentry
from .listener import bridge_event, route_from_subentry

# What a sample event carries: the keys the default template and the docs use.
SAMPLE_EVENT_DATA = {
    "message": "Hello from Notify Bridge",
    "name": "Front door",
    "entity_id": "binary_sensor.front_door",
}
SAMPLE_EVENT_TYPE = "notify_bridge_demo"
SAMPLE_TIME = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def sample_event(source_entry_id: str, event_type: str) -> BridgeEvent:
    """Return a bus event of the type as the listener would hand it on."""
    event: Event[Mapping[str, Any]] = Event(
        event_type or SAMPLE_EVENT_TYPE,
        dict(SAMPLE_EVENT_DATA),
        EventOrigin.local,
        SAMPLE_TIME.timestamp(),
        Context(id="01JSAMPLE"),
    )
    return bridge_event(source_entry_id, event)


def preview_routes(source_entry_id: str, subentry: ConfigSubentry) -> list[Route]:
    """Return the route of a (maybe half-filled) event route form."""
    data = dict(subentry.data)
    data[CONF_EVENT_TYPE] = data.get(CONF_EVENT_TYPE) or SAMPLE_EVENT_TYPE
    data[CONF_TEMPLATE] = data.get(CONF_TEMPLATE) or ""
    filled = unsaved_subentry(subentry.subentry_type, subentry.title, data)
    return [route_from_subentry(source_entry_id, filled)]


ROUTE_PREVIEW = RoutePreview(routes=preview_routes, sample_event=sample_event)
