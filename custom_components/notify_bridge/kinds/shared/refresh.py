"""Polling a source now: what the `refresh` action and each polling source's
"Refresh now" button share.

Every poll made this way says what it found in the logbook (the button's activity,
so a press has visible feedback) and in a `notify_bridge_refreshed` event: how many
changes, how long a coalescing route holds them before they are delivered, or why the
poll failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from homeassistant.components.button import ButtonEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity

from ...const import DOMAIN, EVENT_REFRESHED
from ...runtime import EntityFactory, Poller, SourceConfigEntry
from .entities import SourceEntity

# The key (unique id after the entry id) of a source's refresh button.
REFRESH_KEY = "refresh"


def coalesce_window(entry: SourceConfigEntry) -> float:
    """Return the longest coalescing window of the source's routes, in seconds: the
    longest a change found now waits before it is delivered (0: delivered at once)."""
    return max(
        (route.coalesce_seconds for route in entry.runtime_data.routes), default=0
    )


async def async_poll_now(hass: HomeAssistant, poller: Poller) -> dict[str, Any]:
    """Poll one source; return its title, what the poll found and why it failed,
    and tell the logbook (and the bus) the same."""
    entry = poller.config_entry
    await poller.async_refresh()
    error = None
    if not poller.last_update_success:
        err = poller.last_exception
        # Our poll errors are translated (key refused, unreachable, malformed).
        error = (str(err) or type(err).__name__) if err else "unknown"
    report: dict[str, Any] = {
        "title": entry.title,
        "ok": error is None,
        "error": error,
        # Changes found (a poller that does not count them reports None).
        "found": getattr(poller, "last_found", None) if error is None else 0,
        "coalesce_seconds": coalesce_window(entry) if error is None else 0,
    }
    button = er.async_get(hass).async_get_entity_id(
        Platform.BUTTON, DOMAIN, f"{entry.entry_id}_{REFRESH_KEY}"
    )
    hass.bus.async_fire(
        EVENT_REFRESHED,
        {"config_entry_id": entry.entry_id, "entity_id": button, **report},
    )
    return report


def refresh_failed(reports: list[dict[str, Any]]) -> HomeAssistantError:
    """Return the translated error of failed polls (each source and why)."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="refresh_failed",
        translation_placeholders={
            "sources": "; ".join(f"{r['title']} ({r['error']})" for r in reports)
        },
    )


class RefreshButton(SourceEntity, ButtonEntity):
    """Poll the source now; the logbook says what was found, a failure is shown to
    whoever pressed."""

    _attr_translation_key = REFRESH_KEY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, entry: SourceConfigEntry, poller: Poller) -> None:
        """Attach to the source's device."""
        super().__init__(entry, REFRESH_KEY)
        self._poller = poller

    async def async_press(self) -> None:
        """Poll now; raise the translated reason when the poll failed."""
        report = await async_poll_now(self.hass, self._poller)
        if report["error"] is not None:
            raise refresh_failed([report])


@callback
def async_remove_refresh_button(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """Remove the refresh button of an entry that no longer polls."""
    registry = er.async_get(hass)
    unique_id = f"{entry.entry_id}_{REFRESH_KEY}"
    if entity_id := registry.async_get_entity_id(Platform.BUTTON, DOMAIN, unique_id):
        registry.async_remove(entity_id)


def refresh_button(
    poller: Callable[[SourceConfigEntry], Poller | None],
) -> EntityFactory:
    """A "Refresh now" button for a source entry that polls (none otherwise)."""

    def factory(entry: SourceConfigEntry) -> Iterator[tuple[str | None, Entity]]:
        if (found := poller(entry)) is not None:
            yield None, RefreshButton(entry, found)

    return factory
