"""Logbook descriptions of the bus events."""

from __future__ import annotations

from homeassistant.core import Event, HomeAssistant

from custom_components.notify_bridge.logbook import async_describe_events


def test_logbook_describes_both_events(hass: HomeAssistant) -> None:
    """Each bus event gets a readable logbook line."""
    describers = {}
    async_describe_events(
        hass, lambda domain, event_type, fn: describers.__setitem__(event_type, fn)
    )
    bridge = describers["notify_bridge_event"](
        Event("notify_bridge_event", {"event_type": "doorbell", "source": "ha_events"})
    )
    dispatched = describers["notify_bridge_dispatched"](
        Event(
            "notify_bridge_dispatched",
            {
                "dispatch_id": "abc123",
                "status": "partial",
                "summary": {"delivered": 1, "destinations": 2},
            },
        )
    )
    assert bridge == {
        "name": "Notify Bridge",
        "message": "received doorbell from ha_events",
    }
    assert dispatched == {
        "name": "Notify Bridge",
        "message": "dispatch abc123: partial, 1 of 2 destinations delivered",
    }


def test_logbook_describes_chat_events(hass: HomeAssistant) -> None:
    """Commands, messages and button presses say what, who, where (no message text)."""
    describers = {}
    async_describe_events(
        hass, lambda domain, event_type, fn: describers.__setitem__(event_type, fn)
    )
    base = {"user_name": "Ann", "chat_id": 42, "entity_id": "event.ann_received"}
    command = describers["notify_bridge_command"](
        Event("notify_bridge_command", {**base, "kind": "command", "command": "garage"})
    )
    text = describers["notify_bridge_message"](
        Event("notify_bridge_message", {**base, "kind": "text", "text": "secret"})
    )
    button = describers["notify_bridge_button"](
        Event("notify_bridge_button", {**base, "kind": "button", "data": "close"})
    )
    assert command == {
        "name": "Notify Bridge",
        "message": "received command /garage from Ann in chat 42",
        "entity_id": "event.ann_received",
    }
    assert text["message"] == "received a message from Ann in chat 42"
    assert button["message"] == "received button close from Ann in chat 42"
