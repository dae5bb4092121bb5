"""Setting up the Home Assistant events source: one bus listener per route."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from ...runtime import BridgeHub, SourceConfigEntry, SourceRuntime
from .listener import async_listen, route_from_subentry


async def async_setup_ha_events(
    hass: HomeAssistant, hub: BridgeHub, entry: SourceConfigEntry
) -> SourceRuntime:
    """Route the bus events the route subentries ask for."""
    routes = tuple(
        route_from_subentry(entry.entry_id, subentry)
        for subentry in entry.subentries.values()
    )
    runtime = SourceRuntime(routes=routes)
    hub.set_routes(entry, routes)
    for unsubscribe in async_listen(
        hass,
        routes,
        lambda event: hub.async_submit_event(entry, runtime, event),
        entry.entry_id,
        hub.caused_by_delivery,
    ):
        entry.async_on_unload(unsubscribe)
    return runtime
