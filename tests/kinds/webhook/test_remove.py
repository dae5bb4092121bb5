"""Removing an entry deletes what it stored."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.kinds.shared.webhook_source import (
    webhook_store_key,
)

from .conftest import GITEA_ENTRY_ID


async def test_removed_entry_leaves_no_storage(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
) -> None:
    """The replay ids of a removed Gitea source are deleted with it."""
    await setup_webhooks(gitea_entry)
    key = webhook_store_key(GITEA_ENTRY_ID)
    hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": {}}
    assert await hass.config_entries.async_remove(gitea_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
