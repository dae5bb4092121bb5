"""Deleting a destination that a route still uses: a repair issue names the route and
its fix flow takes the dead reference out; until then the route's events stay visible
on its event entity, and the log says so once at WARNING."""

from __future__ import annotations

import logging

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.const import DOMAIN

from .conftest import (
    DEMO_DESTINATION_ID,
    DEMO_ENTITY,
    DEMO_EVENT,
    DEMO_ROUTE_ID,
    destination,
    route,
)

ISSUE = f"lost_destination_{DEMO_ROUTE_ID}"
ROUTE_ENTITY = "event.demo_route_events"
OTHER_ENTITY = "notify.sidebar"


@pytest.fixture
def destinations() -> list:
    """Two destinations: the demo one (deleted by the tests) and another."""
    return [
        destination(DEMO_DESTINATION_ID, "Demo notifications", {"delivery": "persistent_notification"}),
        destination("dest_other", "Sidebar", {"delivery": "notify_service", "notify_service": "x"}),
    ]  # fmt: skip


@pytest.fixture
def routes() -> list:
    """The demo route sends to both destinations."""
    return [
        route(
            DEMO_ROUTE_ID,
            "Demo route",
            {
                "event_type": DEMO_EVENT,
                "event_data": {},
                "destinations": [DEMO_ENTITY, OTHER_ENTITY],
                "template": "{{ data.message }}",
            },
        )
    ]


async def _delete_demo_destination(
    hass: HomeAssistant, target: MockConfigEntry
) -> None:
    assert hass.config_entries.async_remove_subentry(target, DEMO_DESTINATION_ID)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("setup_integration")
async def test_no_issue_while_destinations_exist(hass: HomeAssistant) -> None:
    """A route whose destinations all exist raises nothing (the check can tell)."""
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None


@pytest.mark.usefixtures("setup_integration")
async def test_deleted_destination_is_a_fixable_issue_and_events_stay_visible(
    hass: HomeAssistant,
    target_entry: MockConfigEntry,
    source_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The issue names the route and what is missing; the route's event entity
    fires with a `lost_destinations` note; one WARNING, not one per event."""
    assert await async_setup_component(hass, "repairs", {})
    caplog.set_level(logging.WARNING)
    await _delete_demo_destination(hass, target_entry)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {
        "route": "Demo route",
        "source": "Home Assistant events",
        "destinations": DEMO_ENTITY,
    }
    for _ in range(3):
        hass.bus.async_fire(DEMO_EVENT, {"message": "door"})
        await hass.async_block_till_done()
    state = hass.states.get(ROUTE_ENTITY)
    assert state is not None
    assert state.attributes["lost_destinations"] == [DEMO_ENTITY]
    assert state.attributes["data"]["data"] == {"message": "door"}
    warnings = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and DEMO_ENTITY in r.getMessage()
    ]
    # One when the route was found broken, one when its first event missed it.
    assert len(warnings) == 2

    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(DOMAIN, data={"issue_id": ISSUE})
    assert result["type"] is FlowResultType.FORM
    assert result["description_placeholders"]["route"] == "Demo route"
    key = next(iter(result["data_schema"].schema))
    assert key.default() == [OTHER_ENTITY]  # the dead one already taken out
    result = await manager.async_configure(result["flow_id"], {"destinations": []})
    assert result["errors"] == {"destinations": "no_destinations"}
    result = await manager.async_configure(
        result["flow_id"], {"destinations": [OTHER_ENTITY]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert source_entry.subentries[DEMO_ROUTE_ID].data["destinations"] == [OTHER_ENTITY]
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None
    hass.bus.async_fire(DEMO_EVENT, {"message": "again"})
    await hass.async_block_till_done()
    assert "lost_destinations" not in hass.states.get(ROUTE_ENTITY).attributes


@pytest.mark.usefixtures("setup_integration")
async def test_removing_the_route_clears_its_issue(
    hass: HomeAssistant, target_entry: MockConfigEntry, source_entry: MockConfigEntry
) -> None:
    """A route deleted instead of fixed takes its issue with it."""
    await _delete_demo_destination(hass, target_entry)
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is not None
    assert hass.config_entries.async_remove_subentry(source_entry, DEMO_ROUTE_ID)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None


def test_issue_strings() -> None:
    """The issue and its fix flow have their words (title, form, error, abort)."""
    import json
    from pathlib import Path

    strings = json.loads(
        (
            Path(__file__).parents[1] / "custom_components/notify_bridge/strings.json"
        ).read_text()
    )
    issue = strings["issues"]["lost_destination"]
    assert "{route}" in issue["title"]
    step = issue["fix_flow"]["step"]["confirm"]
    assert "{destinations}" in step["description"]
    assert step["data"]["destinations"] and step["data_description"]["destinations"]
    assert issue["fix_flow"]["error"]["no_destinations"]
    assert issue["fix_flow"]["abort"]["route_gone"]


async def test_a_target_set_up_after_the_source_clears_the_issue(
    hass: HomeAssistant, target_entry: MockConfigEntry, source_entry: MockConfigEntry
) -> None:
    """Entities are registered only once a target's platforms are set up: a source
    loaded first does not leave a false "deleted destination" behind."""
    await hass.config_entries.async_set_disabled_by(
        target_entry.entry_id, ConfigEntryDisabler.USER
    )
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is not None
    await hass.config_entries.async_set_disabled_by(target_entry.entry_id, None)
    await hass.async_block_till_done()
    assert target_entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None
