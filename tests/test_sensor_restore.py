"""Delivery sensors keep their values: `failed_deliveries` and `last_delivery`
survive a reload (every subentry add or edit reloads the entry) and a restart, and
an edit does not show them as unknown afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

from homeassistant.core import HomeAssistant, ServiceCall, State
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.notify_bridge.const import DOMAIN

from .conftest import destination

PHONE = "notify.phone"
FAILED = "sensor.phone_failed_deliveries"
LAST = "sensor.phone_last_delivery"


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


async def _send(hass: HomeAssistant, text: str) -> None:
    await hass.services.async_call(
        DOMAIN,
        "send",
        {"entity_id": PHONE, "message": text, "respect_quiet_hours": False},
        blocking=True,
        return_response=True,
    )


@pytest.mark.usefixtures("setup_integration")
async def test_counters_survive_reload_and_edit(
    hass: HomeAssistant, target_entry: MockConfigEntry
) -> None:
    """Two failures and a delivery, then a subentry edit (a reload): same values."""
    outage = {"down": True}

    async def phone(call: ServiceCall) -> None:
        if outage["down"]:
            raise ValueError("offline")

    hass.services.async_register("notify", "phone", phone)
    await _send(hass, "one")
    await hass.services.async_call(DOMAIN, "flush_deferred", {}, blocking=True)
    outage["down"] = False
    await hass.services.async_call(DOMAIN, "flush_deferred", {}, blocking=True)
    before = (hass.states.get(FAILED).state, hass.states.get(LAST).state)
    assert before[0] == "2"
    assert before[1] not in ("unknown", "unavailable")

    subentry = target_entry.subentries["dest_phone"]
    hass.config_entries.async_update_subentry(
        target_entry, subentry, title="Phone", data={**subentry.data}
    )
    await hass.async_block_till_done()
    assert (hass.states.get(FAILED).state, hass.states.get(LAST).state) == before

    assert await hass.config_entries.async_reload(target_entry.entry_id)
    await hass.async_block_till_done()
    assert (hass.states.get(FAILED).state, hass.states.get(LAST).state) == before


async def test_counters_survive_a_restart(
    hass: HomeAssistant, target_entry: MockConfigEntry, source_entry: MockConfigEntry
) -> None:
    """What the sensors showed before a restart is what they show after it."""
    last = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(FAILED, "7"),
                {"native_value": 7, "native_unit_of_measurement": None},
            ),
            (
                State(LAST, last.isoformat()),
                {
                    "native_value": {
                        "__type": "<class 'datetime.datetime'>",
                        "isoformat": last.isoformat(),
                    },
                    "native_unit_of_measurement": None,
                },
            ),
        ],
    )
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert hass.states.get(FAILED).state == "7"
    assert hass.states.get(LAST).state == last.isoformat()
    # The restored count is the runtime's too: the next failure makes it 8.
    await _send(hass, "fails: no notify.phone service")
    assert hass.states.get(FAILED).state == "8"
