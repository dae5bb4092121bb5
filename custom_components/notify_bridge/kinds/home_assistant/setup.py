"""Setting up the Home Assistant target: one destination per notification target."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from ...runtime import BridgeHub, TargetConfigEntry, TargetRuntime
from ..shared.setup import async_register_destinations
from .target import HomeAssistantDestination


async def async_setup_home_assistant(
    hass: HomeAssistant, hub: BridgeHub, entry: TargetConfigEntry
) -> TargetRuntime:
    """Register one destination per notification target subentry."""
    runtime = TargetRuntime()
    await async_register_destinations(
        hub,
        entry,
        runtime,
        lambda subentry: HomeAssistantDestination(
            hass,
            subentry.subentry_id,
            subentry.title,
            subentry.data,
            new_context=hub.new_delivery_context,
        ),
    )
    return runtime
