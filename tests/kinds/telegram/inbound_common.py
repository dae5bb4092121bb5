"""Helpers of the Telegram receiving tests (through Home Assistant, real fake)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from custom_components.notify_bridge.const import DOMAIN
from tests.fakes.telegram_server import FakeTelegramServer

STRANGER = 999


WAIT_SECONDS = 5.0


async def wait_for(hass: HomeAssistant, condition: Callable[[], Any]) -> None:
    """Let the loop run (real sockets to the fake) until `condition` holds."""
    async with asyncio.timeout(WAIT_SECONDS):
        # The fake's state changes on its own sockets: no event to wait on.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    await hass.async_block_till_done()


def capture(hass: HomeAssistant, event_type: str) -> list[Event]:
    """Record the bus events of one type."""
    events: list[Event] = []

    @callback
    def record(event: Event) -> None:
        events.append(event)

    hass.bus.async_listen(event_type, record)
    return events


def replies_to(server: FakeTelegramServer, chat_id: int | str) -> list[str]:
    """Return the texts the bot sent to a chat."""
    return [
        call.params["text"]
        for call in server.calls_to("sendMessage")
        if str(call.params["chat_id"]) == str(chat_id)
    ]


def event_entity(hass: HomeAssistant, destination_id: str) -> str:
    """Return the entity id of a destination's event entity."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "event", DOMAIN, f"{destination_id}_inbound"
    )
    assert entity_id is not None
    return entity_id
