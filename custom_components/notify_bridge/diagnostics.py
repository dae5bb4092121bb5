"""Diagnostics: configuration (secrets redacted), runtime state, recent dispatches."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .catalog import KINDS
from .const import CONF_KIND, SECRET_FIELDS
from .net import redact_url_credentials
from .runtime import DATA_HUB, NotifyBridgeConfigEntry


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: NotifyBridgeConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for one entry, its kind's own, and the shared pipeline."""
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
        "runtime": entry.runtime_data.diagnostics(hub.policy.backlog),
        "dispatches": [summary.as_dict() for summary in history.summaries],
        "health": history.counters.as_dict(),
        **KINDS[entry.data[CONF_KIND]].diagnostics(entry),
    }
    # URL credentials (`http://user:password@host`) are secrets wherever they appear.
    redacted: dict[str, Any] = redact_url_credentials(diagnostics)
    return redacted
