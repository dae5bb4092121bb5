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
