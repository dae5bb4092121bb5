"""The Immich repair flow: a deleted album is taken out of the route that watched it."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.helpers import issue_registry as ir
import voluptuous as vol

from ...const import DOMAIN
from ...sources.immich.routes import CONF_ALBUMS


class AlbumDeletedRepairFlow(RepairsFlow):
    """Remove a deleted album from a route; a route left without albums is removed."""

    def __init__(self, data: dict[str, Any]) -> None:
        """Keep which entry, route and album the issue is about."""
        self._entry_id = str(data.get("entry_id"))
        self._subentry_id = str(data.get("subentry_id"))
        self._album_id = str(data.get("album_id"))

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Start with the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Ask, then edit the route (which reloads the source)."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        subentry = None if entry is None else entry.subentries.get(self._subentry_id)
        if entry is None or subentry is None:
            return self.async_abort(reason="route_gone")
        if user_input is not None:
            albums = [
                album
                for album in subentry.data.get(CONF_ALBUMS, ())
                if album != self._album_id
            ]
            if albums:
                self.hass.config_entries.async_update_subentry(
                    entry, subentry, data={**subentry.data, CONF_ALBUMS: albums}
                )
            else:
                self.hass.config_entries.async_remove_subentry(
                    entry, subentry.subentry_id
                )
            return self.async_create_entry(data={})
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self.issue_id)
        placeholders = dict(issue.translation_placeholders or {}) if issue else {}
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders=placeholders,
        )
