"""Diagnostics: configuration with secrets redacted, runtime state, dispatches."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.notify_bridge.const import DOMAIN, ENTRY_VERSION
from tests.common import typed

from .conftest import DEMO_EVENT

SECRET = "s3cr3t-value-never-shown"


@pytest.fixture
def source_entry(hass: HomeAssistant, routes: list) -> MockConfigEntry:
    """A source whose stored data carries a secret (as webhook sources will)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        title="Home Assistant events",
        data={"kind": "ha_events", "webhook_secret": SECRET},
        options={"token": "abc"},
        unique_id="ha_events",
        entry_id="source_entry",
        subentries_data=typed("ha_events", routes),
    )
    entry.add_to_hass(hass)
    return entry


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    setup_integration: None,
    target_entry: MockConfigEntry,
    source_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics show state and recent dispatches, and no secret."""
    assert await async_setup_component(hass, "diagnostics", {})
    hass.bus.async_fire(DEMO_EVENT, {"message": "hello"})
    await hass.async_block_till_done()

    volatile = props(
        "dispatch_id",
        "started_at",
        "duration_ms",
        "occurred_at",
        "last_delivery",
        "request_id",
    )
    for entry in (target_entry, source_entry):
        result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        assert SECRET not in json.dumps(result)
        assert result == snapshot(exclude=volatile)
    assert result["entry"]["data"]["webhook_secret"] == "**REDACTED**"
    assert result["health"]["dispatches_ok"] == 1
    assert len(result["dispatches"]) == 1
