"""A failed `send_test` press says so, translated, with no traceback in the log
(before, a failure kept for a retry showed nothing at all)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
import pytest

from .conftest import destination

BUTTON = "button.phone_send_test"
STRINGS = Path(__file__).parents[1] / "custom_components/notify_bridge/strings.json"


@pytest.fixture
def destinations() -> list:
    """One legacy notify service destination."""
    return [
        destination(
            "dest_phone",
            "Phone",
            {"delivery": "notify_service", "notify_service": "phone"},
        )
    ]


async def _press(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        "button", "press", {"entity_id": BUTTON}, blocking=True
    )


@pytest.mark.usefixtures("setup_integration")
async def test_failed_press_is_a_translated_error(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """The destination's error reaches whoever pressed; the log has no traceback."""
    up = {"ok": False}
    calls: list[ServiceCall] = []

    async def phone(call: ServiceCall) -> None:
        if not up["ok"]:
            raise ValueError("offline")
        calls.append(call)

    hass.services.async_register("notify", "phone", phone)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HomeAssistantError) as err:
        await _press(hass)
    assert err.value.translation_key == "send_test_failed"
    assert err.value.translation_placeholders == {
        "destination": "Phone",
        "error": "notify.phone failed: offline (queued for retry)",
    }
    message = json.loads(STRINGS.read_text())["exceptions"]["send_test_failed"]
    assert "{destination}" in message["message"] and "{error}" in message["message"]
    assert "Unexpected exception" not in caplog.text
    assert "Traceback" not in caplog.text

    up["ok"] = True
    await hass.services.async_call("notify_bridge", "flush_deferred", {}, blocking=True)
    await _press(hass)  # a working destination: no error
    assert len(calls) == 2  # the kept one, then the new press
