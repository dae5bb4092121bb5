"""Diagnostics: configuration (secrets redacted), runtime state, recent dispatches."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import SECRET_FIELDS
from .hub import (
    DATA_HUB,
    NotifyBridgeConfigEntry,
    NotifyBridgeHub,
    SourceRuntime,
    TargetRuntime,
)
from .net import redact_url_credentials
from .sources.immich.coordinator import coordinator_diagnostics


def _runtime_state(
    hub: NotifyBridgeHub, runtime: TargetRuntime | SourceRuntime
) -> dict[str, Any]:
    if isinstance(runtime, TargetRuntime):
        return {
            "destinations": {
                dest_id: {
                    "name": dest.destination.name,
                    "format": dest.destination.output_format.value,
                    "backlog": hub.policy.backlog(dest_id),
                    "failed_deliveries": dest.failed_deliveries,
                    "last_delivery": dest.last_delivery,
                    "last_result": dest.last_result and dest.last_result.as_dict(),
                }
                for dest_id, dest in runtime.destinations.items()
            }
        }
    event = runtime.last_event
    return {
        "routes": [route.route_id for route in runtime.routes],
        "events": runtime.events,
        "last_event": None
        if event is None
        else {"event_type": event.event_type, "occurred_at": event.occurred_at},
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: NotifyBridgeConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for one entry and the shared pipeline."""
    hub = hass.data[DATA_HUB]
    history = hub.pipeline.history
    diagnostics = {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(dict(entry.data), SECRET_FIELDS),
            "options": async_redact_data(dict(entry.options), SECRET_FIELDS),
            "subentries": [
                {
                    "subentry_type": subentry.subentry_type,
                    "title": subentry.title,
                    "data": async_redact_data(dict(subentry.data), SECRET_FIELDS),
                }
                for subentry in entry.subentries.values()
            ],
        },
        "runtime": _runtime_state(hub, entry.runtime_data),
        "dispatches": [summary.as_dict() for summary in history.summaries],
        "health": history.counters.as_dict(),
        **coordinator_diagnostics(hass, entry.entry_id),
    }
    # URL credentials (`http://user:password@host`) are secrets wherever they appear.
    return redact_url_credentials(diagnostics)
