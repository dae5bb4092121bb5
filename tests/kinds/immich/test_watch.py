"""The Immich source end to end: fake server → coordinator → route → notification."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.notify_bridge.const import EVENT_BRIDGE_EVENT, EVENT_DISPATCHED
from tests.fakes.immich_server import OTHER_ID, FakeImmichServer

from .conftest import (
    IMMICH_ENTRY_ID,
    coordinator,
    immich_entry,
    immich_route,
    messages,
    poll,
    setup_all,
)


def _dispatches(hass: HomeAssistant) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def record(event: Event) -> None:
        found.append(dict(event.data))

    hass.bus.async_listen(EVENT_DISPATCHED, record)
    return found


async def test_added_assets_notify_with_media(
    hass: HomeAssistant, target_entry: Any, server: FakeImmichServer
) -> None:
    """v2 and v3: new assets become one notification with thumbnails as media."""
    album = server.create_album("Holiday", 3)
    immich_entry(hass, server, [immich_route([album])])
    await setup_all(hass)
    assert messages(hass) == []
    dispatches = _dispatches(hass)
    bridge_events: list[Event] = []
    hass.bus.async_listen(EVENT_BRIDGE_EVENT, bridge_events.append)

    added = server.add_assets(album, 2, owner_id=OTHER_ID)
    server.share_album(album)
    await poll(hass)

    texts = messages(hass)
    assert len(texts) == 2
    added_text = next(text for text in texts if "new items" in text)
    assert added_text.startswith("2 new items in Holiday from Bob")
    assert f"/albums/{album}" in added_text
    assert any(text.startswith("Sharing of Holiday changed") for text in texts)
    results = [d["summary"]["results"][0] for d in dispatches]
    assert sorted(r["media_skipped"] for r in results) == [0, 2]
    for asset_id in added:
        assert server.paths[f"/api/assets/{asset_id}/thumbnail"] == 1
    assert {e.data["event_type"] for e in bridge_events} == {
        "assets_added",
        "sharing_changed",
    }

    # Nothing new: nothing reported again, one request per idle poll.
    server.reset_counters()
    await poll(hass)
    assert len(messages(hass)) == 2
    assert server.requests == 1


async def test_asset_count_sensor(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """Each route has a sensor of its albums' asset count."""
    first = v3.create_album("One", 3)
    second = v3.create_album("Two", 4)
    immich_entry(
        hass,
        v3,
        [
            immich_route([first, second]),
            immich_route([second], subentry_id="route_two", title="Second"),
        ],
    )
    await setup_all(hass)
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id(
        "sensor", "notify_bridge", f"{IMMICH_ENTRY_ID}_route_family_asset_count"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == "7"
    assert state.attributes["albums"] == ["One", "Two"]

    v3.add_assets(second, 2)
    await poll(hass)
    assert hass.states.get(entity_id).state == "9"
    other = registry.async_get_entity_id(
        "sensor", "notify_bridge", f"{IMMICH_ENTRY_ID}_route_two_asset_count"
    )
    assert hass.states.get(other).state == "6"


async def test_removed_renamed_deleted(
    hass: HomeAssistant, target_entry: Any, server: FakeImmichServer
) -> None:
    """Removals, renames and deletion are their own notifications."""
    album = server.create_album("Trip", 4)
    immich_entry(hass, server, [immich_route([album])])
    await setup_all(hass)

    server.remove_assets(album, server.albums[album].asset_ids[:2])
    server.rename_album(album, "Trip 2025")
    await poll(hass)
    texts = messages(hass)
    assert "2 items removed from Trip 2025" in texts
    assert "Album Trip is now called Trip 2025" in texts

    server.delete_album(album)
    await poll(hass)
    assert messages(hass)[-1] == "Album Trip 2025 was deleted"
    assert hass.config_entries.async_get_entry(IMMICH_ENTRY_ID).state is (
        ConfigEntryState.LOADED
    )


async def test_failure_marks_entities_unavailable(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """A failing server: asset sensor unavailable, problem sensor on."""
    album = v3.create_album("One", 1)
    immich_entry(hass, v3, [immich_route([album])])
    await setup_all(hass)
    sensor = "sensor.family_assets"
    problem = "binary_sensor.alice_127_0_0_1_problem"
    assert hass.states.get(sensor).state == "1"
    assert hass.states.get(problem).state == "off"
    v3.fail(500, path="/api/albums")
    await coordinator(hass).async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(sensor).state == STATE_UNAVAILABLE
    assert hass.states.get(problem).state == "on"
    await coordinator(hass).async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(sensor).state == "1"
    assert hass.states.get(problem).state == "off"
