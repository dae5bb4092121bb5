"""Describe Notify Bridge events in the logbook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import (
    DOMAIN,
    EVENT_BRIDGE_EVENT,
    EVENT_BUTTON,
    EVENT_COMMAND,
    EVENT_DISPATCHED,
    EVENT_MESSAGE,
    EVENT_REFRESHED,
)

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
    async_describe_event(DOMAIN, EVENT_REFRESHED, describe_refreshed)
    async_describe_event(DOMAIN, EVENT_DISPATCHED, describe_dispatched)
    for event_type in (EVENT_COMMAND, EVENT_MESSAGE, EVENT_BUTTON):
        async_describe_event(DOMAIN, event_type, describe_chat_event)


@callback
def describe_chat_event(event: Event) -> dict[str, str]:
    """Describe a command, message or button press received in a chat."""
    data = event.data
    who = data.get("user_name") or data.get("user_id")
    if data.get("command"):
        what = f"command /{data['command']}"
    elif data.get("kind") == "button":
        what = f"button {data.get('data')}"
    else:
        what = "a message"
    entry = {
        LOGBOOK_ENTRY_NAME: NAME,
        LOGBOOK_ENTRY_MESSAGE: f"received {what} from {who} in chat {data.get('chat_id')}",
    }
    if data.get("entity_id"):
        entry[LOGBOOK_ENTRY_ENTITY_ID] = data["entity_id"]
    return entry


@callback
def describe_refreshed(event: Event) -> dict[str, str]:
    """Describe a poll asked for by the refresh action or button: what it found,
    and how long a coalescing route holds that before delivering it."""
    data = event.data
    found, window = data.get("found"), data.get("coalesce_seconds") or 0
    if data.get("error"):
        message = f"refresh of {data.get('title')} failed: {data['error']}"
    elif found is None:
        message = f"refreshed {data.get('title')}"
    elif not found:
        message = f"refreshed {data.get('title')}: nothing new"
    else:
        message = f"refreshed {data.get('title')}: found {found} change(s)"
        message += (
            f", notified within {window:g} s (coalescing window)"
            if window
            else ", notified now"
        )
    entry = {LOGBOOK_ENTRY_NAME: NAME, LOGBOOK_ENTRY_MESSAGE: message}
    if data.get("entity_id"):
        entry[LOGBOOK_ENTRY_ENTITY_ID] = data["entity_id"]
    return entry
