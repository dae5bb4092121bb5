"""Setup steps every target (or every source) kind runs."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.config_entries import ConfigEntry, ConfigSubentry

from ...pipeline.models import Destination
from ...runtime import BridgeHub, DestinationRuntime, TargetRuntime


async def async_register_destinations[R: TargetRuntime](
    hub: BridgeHub,
    entry: ConfigEntry[R],
    runtime: R,
    build: Callable[[ConfigSubentry], Destination],
) -> None:
    """Register one destination per subentry until the entry unloads, forget what
    waited for removed ones, and deliver what waits for these when it is due."""
    for subentry in entry.subentries.values():
        destination = DestinationRuntime(
            destination=build(subentry), entry_id=entry.entry_id
        )
        runtime.destinations[subentry.subentry_id] = destination
        entry.async_on_unload(hub.register_destination(destination, subentry.data))
    await hub.async_forget_removed_destinations()
    hub.track_waiting(entry, runtime)
