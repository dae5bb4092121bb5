"""Snapshots per platform: the entities each kind declares, as Home Assistant has them."""

from __future__ import annotations

import dataclasses

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.notify_bridge.catalog import KINDS
from custom_components.notify_bridge.const import DOMAIN


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serializer (ids and times left out)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


def only_platform(
    monkeypatch: pytest.MonkeyPatch, kind: str, platform: Platform
) -> None:
    """Let one kind forward one platform only (snapshot_platform wants one)."""
    original = KINDS[kind]
    monkeypatch.setitem(
        KINDS,
        kind,
        dataclasses.replace(original, entities={platform: original.entities[platform]}),
    )


@pytest.mark.parametrize(
    "platform", [Platform.BUTTON, Platform.NOTIFY, Platform.SENSOR]
)
async def test_target_platform(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    monkeypatch: pytest.MonkeyPatch,
    target_entry: MockConfigEntry,
    platform: Platform,
) -> None:
    """A destination's notify entity, delivery sensors and test button."""
    # The fixture enabled the sensors that start disabled in the registry;
    # snapshot_platform wants the registry to hold this platform only.
    for item in er.async_entries_for_config_entry(
        entity_registry, target_entry.entry_id
    ):
        if item.domain != platform:
            entity_registry.async_remove(item.entity_id)
    only_platform(monkeypatch, "home_assistant", platform)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, target_entry.entry_id)


async def test_source_event_platform(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    monkeypatch: pytest.MonkeyPatch,
    source_entry: MockConfigEntry,
) -> None:
    """A source's event entity, with the event types its routes name."""
    only_platform(monkeypatch, "ha_events", Platform.EVENT)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, source_entry.entry_id)
