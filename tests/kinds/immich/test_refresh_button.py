"""Each polling source's "Refresh now" button: it polls, the logbook says what the
poll found (and when a coalescing route delivers it), a failure is shown to whoever
pressed it."""

from __future__ import annotations

from typing import Any

from homeassistant.components.logbook import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
)
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.notify_bridge.const import DOMAIN, EVENT_REFRESHED
from custom_components.notify_bridge.logbook import describe_refreshed
from tests.fakes.immich_server import FakeImmichServer

from .conftest import IMMICH_ENTRY_ID, immich_entry, immich_route, messages, setup_all


def _button(hass: HomeAssistant) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "button", DOMAIN, f"{IMMICH_ENTRY_ID}_refresh"
    )
    assert entity_id is not None
    return entity_id


async def _press(hass: HomeAssistant, entity_id: str) -> None:
    await hass.services.async_call(
        "button", "press", {"entity_id": entity_id}, blocking=True
    )


async def test_pressing_refresh_polls_and_says_what_it_found(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """A press polls the server at once; the change it finds is delivered (after
    the route's coalescing window) and the logbook entry on the button says so."""
    album = v3.create_album("Family", 1)
    immich_entry(hass, v3, [immich_route([album], coalesce_seconds=60)])
    await setup_all(hass)
    button = _button(hass)
    refreshed: list[Event] = []
    hass.bus.async_listen(EVENT_REFRESHED, refreshed.append)
    v3.add_assets(album, 2)
    v3.reset_counters()

    await _press(hass, button)
    await hass.async_block_till_done()
    assert v3.paths["/api/albums"] == 1
    [event] = refreshed
    assert event.data["found"] == 1
    assert event.data["coalesce_seconds"] == 60
    assert event.data["entity_id"] == button
    described = describe_refreshed(event)
    assert described[LOGBOOK_ENTRY_ENTITY_ID] == button
    assert "found 1 change" in described[LOGBOOK_ENTRY_MESSAGE]
    assert "within 60 s (coalescing window)" in described[LOGBOOK_ENTRY_MESSAGE]
    # Held for the window, not lost: nothing is sent yet.
    assert not messages(hass)

    await _press(hass, button)
    await hass.async_block_till_done()
    assert "nothing new" in describe_refreshed(refreshed[-1])[LOGBOOK_ENTRY_MESSAGE]
    assert hass.states.get(button).state != "unknown"


async def test_a_failed_refresh_is_a_translated_error(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """The server refusing the poll: the press raises the translated reason (the
    frontend shows it), and the logbook records the failure."""
    album = v3.create_album("Family", 1)
    immich_entry(hass, v3, [immich_route([album])])
    await setup_all(hass)
    refreshed: list[Event] = []
    hass.bus.async_listen(EVENT_REFRESHED, refreshed.append)
    v3.fail(500, path="/api/albums")
    with pytest.raises(HomeAssistantError) as err:
        await _press(hass, _button(hass))
    assert err.value.translation_key == "refresh_failed"
    assert "500" in err.value.translation_placeholders["sources"]
    await hass.async_block_till_done()
    message = describe_refreshed(refreshed[-1])[LOGBOOK_ENTRY_MESSAGE]
    assert message.startswith("refresh of ")
    assert "failed" in message


async def test_the_refresh_action_is_in_the_logbook_too(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """The action reports the window in its response and fires the same event, on
    the source's button (its device page shows the poll)."""
    album = v3.create_album("Family", 1)
    immich_entry(hass, v3, [immich_route([album], coalesce_seconds=30)])
    await setup_all(hass)
    refreshed: list[Event] = []
    hass.bus.async_listen(EVENT_REFRESHED, refreshed.append)
    v3.add_assets(album, 1)
    response = await hass.services.async_call(
        DOMAIN, "refresh", {}, blocking=True, return_response=True
    )
    assert response["sources"][IMMICH_ENTRY_ID]["coalesce_seconds"] == 30
    await hass.async_block_till_done()
    assert refreshed[-1].data["entity_id"] == _button(hass)


def test_logbook_words_without_a_count() -> None:
    """A poller that does not count what it found is described without a number."""
    event = Event(EVENT_REFRESHED, {"title": "Forge", "found": None, "error": None})
    assert describe_refreshed(event)[LOGBOOK_ENTRY_MESSAGE] == "refreshed Forge"
    assert LOGBOOK_ENTRY_ENTITY_ID not in describe_refreshed(event)
    event = Event(EVENT_REFRESHED, {"title": "Forge", "found": 2, "error": None})
    assert describe_refreshed(event)[LOGBOOK_ENTRY_MESSAGE].endswith("notified now")
