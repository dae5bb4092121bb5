"""Which entities start disabled (quality scale: entity-disabled-by-default).

Only the failed-deliveries count starts disabled: a diagnostic statistic that the
`destination_failing` repair issue and the diagnostics already cover. The notify
entity, the test button, the last-delivery and backlog sensors, the event entities
and the problem sensor are what users automate on and start enabled.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

from custom_components.notify_bridge.const import DOMAIN
from tests.common import kind_entry, subentry


async def test_failed_deliveries_starts_disabled(hass: HomeAssistant) -> None:
    """A new destination: its failed-deliveries sensor is registered disabled (no
    state); the rest of its entities have states."""
    entry = kind_entry(
        hass,
        "home_assistant",
        subentries=[
            subentry(
                "home_assistant",
                "dest_pager",
                "Pager",
                {"delivery": "persistent_notification"},
                unique_id="persistent_notification",
            )
        ],
        unique_id="home_assistant",
    )
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    by_key = {
        item.unique_id: item
        for item in er.async_entries_for_config_entry(registry, entry.entry_id)
    }
    disabled = by_key["dest_pager_failed_deliveries"]
    assert disabled.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert hass.states.get(disabled.entity_id) is None
    enabled = {key for key, item in by_key.items() if item.disabled_by is None}
    assert {
        "dest_pager",
        "dest_pager_send_test",
        "dest_pager_last_delivery",
        "dest_pager_backlog",
    } <= enabled
    for key in enabled:
        assert hass.states.get(by_key[key].entity_id) is not None
