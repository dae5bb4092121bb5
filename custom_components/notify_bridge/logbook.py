"""Describe Notify Bridge events in the logbook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_BRIDGE_EVENT, EVENT_DISPATCHED

NAME = "Notify Bridge"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe the bus events this integration fires."""

    @callback
    def describe_bridge_event(event: Event) -> dict[str, str]:
        data = event.data
        return {
            LOGBOOK_ENTRY_NAME: NAME,
            LOGBOOK_ENTRY_MESSAGE: (
                f"received {data.get('event_type')} from {data.get('source')}"
            ),
        }

    @callback
    def describe_dispatched(event: Event) -> dict[str, str]:
        data = event.data
        summary = data.get("summary") or {}
        return {
            LOGBOOK_ENTRY_NAME: NAME,
            LOGBOOK_ENTRY_MESSAGE: (
                f"dispatch {data.get('dispatch_id')}: {data.get('status')}, "
                f"{summary.get('delivered', 0)} of {summary.get('destinations', 0)} "
                "destinations delivered"
            ),
        }

    async_describe_event(DOMAIN, EVENT_BRIDGE_EVENT, describe_bridge_event)
    async_describe_event(DOMAIN, EVENT_DISPATCHED, describe_dispatched)
