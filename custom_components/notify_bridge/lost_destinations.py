"""Routes that name a destination which no longer exists (its subentry was deleted).

Without this a deleted destination silently took the route's notifications with it.
Each such route gets a repair issue naming it and the missing destinations, with a
fix flow that takes the dead references out (or picks others); until then its event
entity fires with a `lost_destinations` note and the log says so once, at WARNING.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigSubentry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.selector import EntitySelector, EntitySelectorConfig
import voluptuous as vol

from .const import CONF_DESTINATIONS, DOMAIN, ISSUE_LOST_DESTINATION, issue_id
from .pipeline.models import Destination

_LOGGER = logging.getLogger(__name__)
_PREFIX = f"{ISSUE_LOST_DESTINATION}_"
_UNSETTLED = (ConfigEntryState.NOT_LOADED, ConfigEntryState.SETUP_IN_PROGRESS)


class LostDestinations:
    """Which routes name destinations that are gone, kept in step with repairs."""

    def __init__(
        self, hass: HomeAssistant, resolve: Callable[[str], Destination | None]
    ) -> None:
        """`resolve` is the hub's: None means no such destination exists at all."""
        self._hass = hass
        self._resolve = resolve
        self._lost: dict[str, tuple[str, ...]] = {}

    def of_route(self, route_id: str) -> tuple[str, ...]:
        """Return the destinations a route names that no longer exist."""
        return self._lost.get(route_id, ())

    @callback
    def async_check(self) -> None:
        """Look at every route again; raise, update or clear the issues.

        Only once every entry has settled: a destination's notify entity is in the
        entity registry only after its target's platforms are set up, so a check
        while a target is (re)loading would call a live destination lost. Each
        entry's reaching LOADED checks again (`async_on_state_change`).
        """
        entries = self._hass.config_entries.async_entries(DOMAIN)
        if any(
            entry.state in _UNSETTLED and entry.disabled_by is None for entry in entries
        ):
            return
        found: dict[str, tuple[str, ...]] = {}
        for entry in entries:
            for subentry in entry.subentries.values():
                dead = self._dead(subentry)
                if dead:
                    found[subentry.subentry_id] = dead
                    self._raise(entry, subentry, dead)
        registry = ir.async_get(self._hass)
        # Issues of routes now fixed or removed (also ones from before a restart).
        for domain, issue in list(registry.issues):
            route_id = issue.removeprefix(_PREFIX)
            if domain == DOMAIN and route_id != issue and route_id not in found:
                ir.async_delete_issue(self._hass, DOMAIN, issue)
        self._lost = found

    def _dead(self, subentry: ConfigSubentry) -> tuple[str, ...]:
        destinations = subentry.data.get(CONF_DESTINATIONS)
        if not isinstance(destinations, (list, tuple)):
            return ()
        return tuple(str(d) for d in destinations if self._resolve(str(d)) is None)

    def _raise(
        self, entry: ConfigEntry[Any], subentry: ConfigSubentry, dead: tuple[str, ...]
    ) -> None:
        route_id = subentry.subentry_id
        if self._lost.get(route_id) != dead:
            _LOGGER.warning(
                "Route %s (%s) sends to %s, which no longer exist(s); nothing is "
                "delivered there until the route is fixed (see Repairs)",
                subentry.title,
                entry.title,
                ", ".join(dead),
            )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id(ISSUE_LOST_DESTINATION, route_id),
            is_fixable=True,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_LOST_DESTINATION,
            translation_placeholders={
                "route": subentry.title,
                "source": entry.title,
                "destinations": ", ".join(dead),
            },
            data={"entry_id": entry.entry_id, "subentry_id": route_id},
        )


class LostDestinationRepairFlow(RepairsFlow):
    """Take the missing destinations out of a route, or pick others instead."""

    def __init__(self, data: dict[str, Any]) -> None:
        """Keep which entry and route the issue is about."""
        self._entry_id = str(data.get("entry_id"))
        self._subentry_id = str(data.get("subentry_id"))

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Start with the form."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Offer the route's live destinations; saving edits the route (it reloads)."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        subentry = None if entry is None else entry.subentries.get(self._subentry_id)
        if entry is None or subentry is None:
            return self.async_abort(reason="route_gone")
        errors: dict[str, str] = {}
        if user_input is not None:
            chosen = list(user_input.get(CONF_DESTINATIONS) or ())
            if chosen:
                self.hass.config_entries.async_update_subentry(
                    entry, subentry, data={**subentry.data, CONF_DESTINATIONS: chosen}
                )
                return self.async_create_entry(data={})
            errors[CONF_DESTINATIONS] = "no_destinations"
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self.issue_id)
        placeholders = dict(issue.translation_placeholders or {}) if issue else {}
        lost = set(placeholders.get("destinations", "").split(", "))
        live = [d for d in subentry.data.get(CONF_DESTINATIONS, ()) if d not in lost]
        schema = vol.Schema(
            {
                vol.Optional(CONF_DESTINATIONS, default=live): EntitySelector(
                    EntitySelectorConfig(
                        integration=DOMAIN, domain=Platform.NOTIFY, multiple=True
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="confirm",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )
