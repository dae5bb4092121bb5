"""Config flow: the menu, single-instance kinds, reconfigure, destination and route subentries."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, UnknownHandler
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.catalog import KINDS
from custom_components.notify_bridge.const import DOMAIN
from tests.common import start_entry_flow

from .conftest import DEMO_DESTINATION_ID, DEMO_ENTITY, DEMO_ROUTE_ID


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        ("home_assistant", "Home Assistant notifications"),
        ("ha_events", "Home Assistant events"),
    ],
)
async def test_user_menu_creates_each_kind(
    hass: HomeAssistant, kind: str, title: str
) -> None:
    """The menu leads to a form that creates the entry with its kind."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"][0] == "home_assistant"
    assert kind in result["menu_options"]

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": kind}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": title}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title
    assert result["data"] == {"kind": kind}
    assert result["result"].unique_id == kind


async def test_second_entry_of_a_kind_aborts(
    hass: HomeAssistant, target_entry: MockConfigEntry
) -> None:
    """Only one home_assistant target can exist."""
    result = await start_entry_flow(hass, "home_assistant")
    assert result["type"] is FlowResultType.ABORT
    # Its own words, not a message that must fit every kind.
    assert result["reason"] == "home_assistant_already_configured"


async def test_menu_offers_every_kind_in_order(hass: HomeAssistant) -> None:
    """Targets first, then sources; each option opens its kind's create step."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["menu_options"] == list(KINDS)
    assert list(KINDS)[:2] == ["home_assistant", "telegram"]
    for kind in KINDS:
        result = await start_entry_flow(hass, kind)
        assert result["step_id"] == kind
        hass.config_entries.flow.async_abort(result["flow_id"])


async def test_reconfigure_renames(
    hass: HomeAssistant, setup_integration: None, target_entry: MockConfigEntry
) -> None:
    """Reconfigure changes the entry title and reloads it."""
    result = await target_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Notifications"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert target_entry.title == "Notifications"


async def _start_subentry(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_type: str
) -> dict[str, Any]:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, subentry_type), context={"source": SOURCE_USER}
    )


async def test_destination_persistent_notification(
    hass: HomeAssistant, target_entry: MockConfigEntry
) -> None:
    """A persistent-notification destination needs nothing but a name; twice aborts."""
    result = await _start_subentry(hass, target_entry, "notification_target")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Sidebar", "delivery": "persistent_notification"}
    )
    assert result["type"] is FlowResultType.ABORT  # the fixture already has one
    assert result["reason"] == "already_configured"


async def test_destination_notify_service(
    hass: HomeAssistant, target_entry: MockConfigEntry, legacy_notify_calls: list
) -> None:
    """A legacy notify service destination keeps only the service field."""
    result = await _start_subentry(hass, target_entry, "notification_target")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Phone",
            "delivery": "notify_service",
            "notify_service": "phone",
            "notify_entity": "notify.ignored",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"delivery": "notify_service", "notify_service": "phone"}
    assert result["unique_id"] == "notify_service:phone"


async def test_destination_notify_entity(
    hass: HomeAssistant, target_entry: MockConfigEntry
) -> None:
    """A notify entity destination is accepted when the entity exists."""
    hass.states.async_set("notify.kitchen_speaker", "unknown")
    result = await _start_subentry(hass, target_entry, "notification_target")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Kitchen",
            "delivery": "notify_entity",
            "notify_entity": "notify.kitchen_speaker",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "delivery": "notify_entity",
        "notify_entity": "notify.kitchen_speaker",
    }


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({"delivery": "notify_entity"}, {"notify_entity": "entity_required"}),
        (
            {"delivery": "notify_entity", "notify_entity": "notify.nowhere"},
            {"notify_entity": "entity_not_found"},
        ),
        (
            {"delivery": "notify_entity", "notify_entity": DEMO_ENTITY},
            {"notify_entity": "own_entity"},
        ),
        ({"delivery": "notify_service"}, {"notify_service": "service_required"}),
        (
            {"delivery": "notify_service", "notify_service": "nope"},
            {"notify_service": "service_not_found"},
        ),
    ],
)
async def test_destination_errors(
    hass: HomeAssistant,
    setup_integration: None,
    target_entry: MockConfigEntry,
    user_input: dict[str, str],
    errors: dict[str, str],
) -> None:
    """Each invalid destination shows its translated error and can be corrected."""
    result = await _start_subentry(hass, target_entry, "notification_target")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Bad", **user_input}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


async def test_destination_reconfigure(
    hass: HomeAssistant, setup_integration: None, target_entry: MockConfigEntry
) -> None:
    """Reconfigure renames a destination and keeps its id."""
    result = await target_entry.start_subentry_reconfigure_flow(
        hass, DEMO_DESTINATION_ID
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Sidebar", "delivery": "persistent_notification"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert target_entry.subentries[DEMO_DESTINATION_ID].title == "Sidebar"


async def test_destination_reconfigure_onto_existing_aborts(
    hass: HomeAssistant, target_entry: MockConfigEntry, legacy_notify_calls: list
) -> None:
    """Two destinations may not deliver to the same place."""
    result = await _start_subentry(hass, target_entry, "notification_target")
    await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "Phone", "delivery": "notify_service", "notify_service": "phone"},
    )
    result = await target_entry.start_subentry_reconfigure_flow(
        hass, DEMO_DESTINATION_ID
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "X", "delivery": "notify_service", "notify_service": "phone"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


ROUTE_INPUT = {
    "name": "Doorbell",
    "event_type": "doorbell_pressed",
    "event_data": {"door": "front"},
    "destinations": [DEMO_ENTITY],
    "template": "Someone at the {{ data.door }} door",
}


async def test_route_created(
    hass: HomeAssistant, setup_integration: None, source_entry: MockConfigEntry
) -> None:
    """A valid route is saved without its name in the data."""
    result = await _start_subentry(hass, source_entry, "event_route")
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], dict(ROUTE_INPUT)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Doorbell"
    assert "name" not in result["data"]
    assert result["data"]["event_data"] == {"door": "front"}


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"event_type": "Bad Type!"}, {"event_type": "invalid_event_type"}),
        ({"event_type": "x" * 65}, {"event_type": "invalid_event_type"}),
        ({"event_type": "notify_bridge_dispatched"}, {"event_type": "own_event_type"}),
        ({"event_data": ["not", "a", "mapping"]}, {"event_data": "invalid_event_data"}),
        ({"destinations": []}, {"destinations": "no_destinations"}),
        ({"template": "{% for x %}"}, {"template": "invalid_template"}),
        ({"title_template": "{{ unclosed"}, {"title_template": "invalid_template"}),
    ],
)
async def test_route_errors(
    hass: HomeAssistant,
    setup_integration: None,
    source_entry: MockConfigEntry,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Each invalid route shows its translated error."""
    result = await _start_subentry(hass, source_entry, "event_route")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**ROUTE_INPUT, **changes}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


async def test_route_reconfigure_changes_delivery(
    hass: HomeAssistant, setup_integration: None, source_entry: MockConfigEntry
) -> None:
    """An edited template is used for the next event (never a stale compile)."""
    result = await source_entry.start_subentry_reconfigure_flow(hass, DEMO_ROUTE_ID)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Demo route",
            "event_type": "notify_bridge_demo",
            "destinations": [DEMO_ENTITY],
            "template": "Edited: {{ data.message }}",
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    hass.bus.async_fire("notify_bridge_demo", {"message": "hi"})
    await hass.async_block_till_done()
    notifications = hass.data["persistent_notification"]
    assert [n["message"] for n in notifications.values()] == ["Edited: hi"]


async def test_subentry_flow_source_is_checked(
    hass: HomeAssistant, source_entry: MockConfigEntry
) -> None:
    """Each kind has its own subentry type: a source has no notification targets."""
    with pytest.raises(UnknownHandler, match="does not support subentry"):
        await hass.config_entries.subentries.async_init(
            (source_entry.entry_id, "notification_target"),
            context={"source": SOURCE_USER},
        )
