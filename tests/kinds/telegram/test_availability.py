"""Destinations are unavailable when their target cannot deliver at all, and an
outage is logged once when it starts and once when it ends (quality scale:
entity-unavailable, log-when-unavailable)."""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.const import DOMAIN
from tests.fakes.telegram_server import FakeTelegramServer

from .conftest import FORUM_CHAT, PRIVATE_ENTITY, TOPIC_ENTITY

PRIVATE_SENSOR = "sensor.ann_failed_deliveries"


async def _notify(hass: HomeAssistant, entity_id: str, message: str) -> None:
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": entity_id, "message": message},
        blocking=True,
    )


async def _send(hass: HomeAssistant, entity_id: str, message: str) -> dict[str, Any]:
    return await hass.services.async_call(
        DOMAIN,
        "send",
        {"entity_id": [entity_id], "message": message},
        blocking=True,
        return_response=True,
    )


def _records(caplog: pytest.LogCaptureFixture, text: str, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if text in r.getMessage() and r.levelno == level
    ]


async def test_unloaded_entry_makes_destinations_unavailable(
    hass: HomeAssistant, setup_telegram: MockConfigEntry
) -> None:
    """A target entry that is not loaded has unavailable destination entities."""
    assert hass.states.get(PRIVATE_ENTITY).state != STATE_UNAVAILABLE
    assert await hass.config_entries.async_unload(setup_telegram.entry_id)
    await hass.async_block_till_done()
    for entity_id in (PRIVATE_ENTITY, TOPIC_ENTITY, PRIVATE_SENSOR):
        assert hass.states.get(entity_id).state == STATE_UNAVAILABLE


async def test_refused_token_makes_chats_unavailable_until_reauth(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    setup_telegram: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Telegram refusing the token mid-send: every chat of the bot is unavailable,
    logged once for both sends; the new token brings them back, logged once."""
    old_token = server.token
    server.token = "123456:REVOKED"
    with pytest.raises(HomeAssistantError):
        await _notify(hass, PRIVATE_ENTITY, "x")
    # The second send goes through the action: the entity service would skip it.
    assert (await _send(hass, PRIVATE_ENTITY, "y"))["status"] == "fail"
    await hass.async_block_till_done()
    for entity_id in (PRIVATE_ENTITY, TOPIC_ENTITY, PRIVATE_SENSOR):
        assert hass.states.get(entity_id).state == STATE_UNAVAILABLE
    assert len(_records(caplog, "cannot deliver", logging.WARNING)) == 1
    assert old_token not in caplog.text and "REVOKED" not in caplog.text

    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    server.token = "123456:NEW-TOKEN"
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"bot_token": "123456:NEW-TOKEN"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    for entity_id in (PRIVATE_ENTITY, TOPIC_ENTITY, PRIVATE_SENSOR):
        assert hass.states.get(entity_id).state != STATE_UNAVAILABLE
    assert len(_records(caplog, "can deliver again", logging.INFO)) == 1


async def test_failing_destination_logged_once_and_recovery_once(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    setup_telegram: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three failed deliveries: one warning; the next success: one info line. The
    entity stays available (the chat is gone, the bot still delivers elsewhere)."""
    server.missing_chats.add(str(FORUM_CHAT))
    for index in range(3):
        response = await _send(hass, TOPIC_ENTITY, f"m{index}")
        assert response["status"] == "fail"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings if "Family topic" in r.getMessage()] == [
        _records(caplog, "further failures are not logged", logging.WARNING)[0]
    ]
    assert hass.states.get(TOPIC_ENTITY).state != STATE_UNAVAILABLE

    server.missing_chats.clear()
    assert (await _send(hass, TOPIC_ENTITY, "back"))["status"] == "ok"
    assert (await _send(hass, TOPIC_ENTITY, "again"))["status"] == "ok"
    (recovered,) = _records(caplog, "works again", logging.INFO)
    assert "Family topic" in recovered and "3 failure" in recovered
