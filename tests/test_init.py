"""Setup, the demo path (event → notification), unload and reload."""

from __future__ import annotations

from homeassistant.components import persistent_notification
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components import notify_bridge
from custom_components.notify_bridge.const import EVENT_BRIDGE_EVENT, EVENT_DISPATCHED

from .conftest import DEMO_ENTITY, DEMO_EVENT


def notifications(hass: HomeAssistant) -> list[dict]:
    """Return the persistent notifications currently shown."""
    return list(
        persistent_notification._async_get_or_create_notifications(hass).values()
    )


async def test_demo_event_becomes_notification(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """Firing the demo event shows a persistent notification with the rendered text."""
    bridge_events = async_capture_events(hass, EVENT_BRIDGE_EVENT)
    dispatched = async_capture_events(hass, EVENT_DISPATCHED)

    hass.bus.async_fire(DEMO_EVENT, {"message": "Front door *opened*"})
    await hass.async_block_till_done()

    shown = notifications(hass)
    assert len(shown) == 1
    # Markdown destination: the event's value is escaped, so it shows as typed.
    assert shown[0]["message"] == r"Front door \*opened\*"
    assert shown[0]["title"] == "Notify Bridge demo"
    assert [event.data["event_type"] for event in bridge_events] == [DEMO_EVENT]
    assert len(dispatched) == 1
    assert dispatched[0].data["status"] == "ok"
    assert dispatched[0].data["summary"]["delivered"] == 1
    # The source's event entity fired with the event's type and data.
    event = hass.states.get("event.home_assistant_events_routed_event")
    assert event.attributes["event_type"] == DEMO_EVENT
    assert event.attributes["data"]["data"] == {"message": "Front door *opened*"}
    assert hass.states.get(DEMO_ENTITY) is not None


async def test_unmatched_events_are_ignored(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """Other event types reach no route and fire nothing."""
    bridge_events = async_capture_events(hass, EVENT_BRIDGE_EVENT)
    hass.bus.async_fire("some_other_event", {"message": "x"})
    await hass.async_block_till_done()
    assert bridge_events == []
    assert notifications(hass) == []


async def test_unload_removes_listeners_and_entities(
    hass: HomeAssistant,
    setup_integration: None,
    target_entry: MockConfigEntry,
    source_entry: MockConfigEntry,
) -> None:
    """After unload no listener is left and the event is not delivered."""
    assert hass.bus.async_listeners().get(DEMO_EVENT) == 1

    assert await hass.config_entries.async_unload(source_entry.entry_id)
    assert await hass.config_entries.async_unload(target_entry.entry_id)
    await hass.async_block_till_done()

    assert source_entry.state is ConfigEntryState.NOT_LOADED
    assert DEMO_EVENT not in hass.bus.async_listeners()
    assert hass.states.get(DEMO_ENTITY).state == "unavailable"
    hass.bus.async_fire(DEMO_EVENT, {"message": "after unload"})
    await hass.async_block_till_done()
    assert notifications(hass) == []


async def test_reload_keeps_working(
    hass: HomeAssistant, setup_integration: None, source_entry: MockConfigEntry
) -> None:
    """A reloaded source listens exactly once again."""
    assert await hass.config_entries.async_reload(source_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.bus.async_listeners().get(DEMO_EVENT) == 1
    hass.bus.async_fire(DEMO_EVENT, {"message": "again"})
    await hass.async_block_till_done()
    assert [n["message"] for n in notifications(hass)] == ["again"]


async def test_added_destination_gets_entities(
    hass: HomeAssistant,
    setup_integration: None,
    target_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """Adding a subentry reloads the entry and creates the new destination's entities."""
    hass.config_entries.async_add_subentry(
        target_entry,
        ConfigSubentry(
            data={"delivery": "notify_service", "notify_service": "phone"},
            subentry_type="destination",
            title="Phone",
            unique_id="notify_service:phone",
        ),
    )
    await hass.async_block_till_done()
    assert hass.states.get("notify.phone") is not None
    assert hass.states.get("sensor.phone_backlog").state == "0"
    assert hass.states.get("button.phone_send_test") is not None
    # A diagnostic statistic: registered, disabled until the user enables it.
    failed = er.async_get(hass).async_get("sensor.phone_failed_deliveries")
    assert failed is not None and failed.disabled_by is not None


async def test_route_to_missing_destination_fails_visibly(
    hass: HomeAssistant, setup_integration: None, source_entry: MockConfigEntry
) -> None:
    """A route naming an entity that is gone reports a failure, not success."""
    hass.config_entries.async_update_subentry(
        source_entry,
        source_entry.subentries["route_demo"],
        data={
            **source_entry.subentries["route_demo"].data,
            "destinations": ["notify.gone"],
        },
    )
    await hass.async_block_till_done()
    dispatched = async_capture_events(hass, EVENT_DISPATCHED)
    hass.bus.async_fire(DEMO_EVENT, {"message": "x"})
    await hass.async_block_till_done()
    assert dispatched[0].data["status"] == "fail"
    assert "not found" in dispatched[0].data["summary"]["errors"][0]


async def test_each_edit_reloads_exactly_once(
    hass: HomeAssistant,
    setup_integration: None,
    target_entry: MockConfigEntry,
    legacy_notify_calls: list,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reconfigure or a subentry added reloads the entry once, never twice.

    The update listener is the one reload mechanism (HA 2026.12 refuses an entry
    that also reloads through async_update_reload_and_abort).
    """
    setups: list[str] = []
    original = notify_bridge.async_setup_entry

    async def counting_setup(hass: HomeAssistant, entry: MockConfigEntry) -> bool:
        setups.append(entry.entry_id)
        return await original(hass, entry)

    monkeypatch.setattr(notify_bridge, "async_setup_entry", counting_setup)

    result = await target_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Notifications"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert setups == [target_entry.entry_id]

    setups.clear()
    result = await hass.config_entries.subentries.async_init(
        (target_entry.entry_id, "notification_target"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "Phone", "delivery": "notify_service", "notify_service": "phone"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert setups == [target_entry.entry_id]
    assert target_entry.state is ConfigEntryState.LOADED
