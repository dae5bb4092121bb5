"""Finding a stored route for the `preview_template` action: by its event entity
(the route's own or, for a one-route source, the source's) or by subentry id."""

from __future__ import annotations

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er

from .catalog import KINDS
from .const import CONF_KIND, DOMAIN
from .runtime import NotifyBridgeConfigEntry, RoutePreview


def find_route(
    hass: HomeAssistant, key: str
) -> tuple[NotifyBridgeConfigEntry, ConfigSubentry, RoutePreview]:
    """Return the source entry, route subentry and kind preview behind `key`."""
    subentry_id = key
    registered = er.async_get(hass).async_get(key)
    if registered is not None and registered.platform == DOMAIN:
        subentry_id = registered.config_subentry_id or ""
    for entry in hass.config_entries.async_entries(DOMAIN):
        preview = KINDS[entry.data[CONF_KIND]].route_preview
        subentry = entry.subentries.get(subentry_id)
        if preview is not None and subentry is not None:
            return entry, subentry, preview
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_a_route",
        translation_placeholders={"route": key},
    )
