"""Entities and devices: kinds declare them, subentries own them, devices nest."""

from __future__ import annotations

from homeassistant.components.notify import ATTR_TITLE, NotifyEntityFeature
from homeassistant.const import ATTR_SUPPORTED_FEATURES
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.const import DOMAIN

from .conftest import (
    DEMO_DESTINATION_ID,
    DEMO_ENTITY,
    DEMO_EVENT,
    DEMO_ROUTE_ID,
    SOURCE_ENTRY_ID,
    TARGET_ENTRY_ID,
)
from .test_init import notifications


async def test_devices_nest_under_their_entry(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """One device per entry (the service as manufacturer); destinations via it."""
    devices = dr.async_get(hass)
    target = devices.async_get_device_by_identifier(
        (DOMAIN, TARGET_ENTRY_ID), TARGET_ENTRY_ID
    )
    source = devices.async_get_device_by_identifier(
        (DOMAIN, SOURCE_ENTRY_ID), SOURCE_ENTRY_ID
    )
    assert (target.manufacturer, target.name) == ("Home Assistant", "Home Assistant")
    assert source.name == "Home Assistant events"
    destination = devices.async_get_device_by_identifier(
        (DOMAIN, DEMO_DESTINATION_ID), TARGET_ENTRY_ID
    )
    assert destination.via_device_id == target.id
    assert destination.model == "Notification target"
    assert destination.config_subentry_id == DEMO_DESTINATION_ID


async def test_notify_entity_takes_a_title(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """The notify entity declares TITLE, and the title reaches the destination."""
    state = hass.states.get(DEMO_ENTITY)
    assert state.attributes[ATTR_SUPPORTED_FEATURES] & NotifyEntityFeature.TITLE
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": DEMO_ENTITY, "message": "Hi", ATTR_TITLE: "Greeting"},
        blocking=True,
    )
    assert [(n["title"], n["message"]) for n in notifications(hass)] == [
        ("Greeting", "Hi")
    ]


async def test_removed_subentry_takes_its_entities(
    hass: HomeAssistant, setup_integration: None, target_entry: MockConfigEntry
) -> None:
    """Entities are registered with their subentry, so Home Assistant removes them."""
    registry = er.async_get(hass)
    own = [
        entry
        for entry in er.async_entries_for_config_entry(registry, TARGET_ENTRY_ID)
        if entry.config_subentry_id == DEMO_DESTINATION_ID
    ]
    assert {entry.domain for entry in own} == {"notify", "sensor", "button"}
    assert hass.config_entries.async_remove_subentry(target_entry, DEMO_DESTINATION_ID)
    await hass.async_block_till_done()
    assert registry.async_get(DEMO_ENTITY) is None
    assert er.async_entries_for_config_entry(registry, TARGET_ENTRY_ID) == []
    devices = dr.async_get(hass)
    gone = devices.async_get_device_by_identifier(
        (DOMAIN, DEMO_DESTINATION_ID), TARGET_ENTRY_ID
    )
    assert gone is None


async def test_source_and_route_event_entities(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """The source's event entity is the entry's; each route has its own, on the
    route's device, and both fire for a routed event with its type and data."""
    registry = er.async_get(hass)
    entities = {
        entry.config_subentry_id: entry
        for entry in er.async_entries_for_config_entry(registry, SOURCE_ENTRY_ID)
    }
    assert set(entities) == {None, DEMO_ROUTE_ID}
    assert {entry.domain for entry in entities.values()} == {"event"}
    route_entity = entities[DEMO_ROUTE_ID].entity_id
    assert route_entity == "event.demo_route_events"
    devices = dr.async_get(hass)
    source = devices.async_get_device_by_identifier(
        (DOMAIN, SOURCE_ENTRY_ID), SOURCE_ENTRY_ID
    )
    route_device = devices.async_get(entities[DEMO_ROUTE_ID].device_id)
    assert route_device.via_device_id == source.id

    hass.bus.async_fire(DEMO_EVENT, {"message": "Ring"})
    await hass.async_block_till_done()
    for entity_id in (entities[None].entity_id, route_entity):
        state = hass.states.get(entity_id)
        assert state.attributes["event_type"] == DEMO_EVENT
        assert state.attributes["data"]["data"] == {"message": "Ring"}
        assert state.attributes["event_types"] == [DEMO_EVENT]
