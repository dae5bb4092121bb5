"""The Immich client of an entry (or of a form's input), on Home Assistant's session."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_API_KEY, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ...sources.immich.client import ImmichClient

# Where album and asset links point when HA polls an internal address (entry data).
CONF_EXTERNAL_URL = "external_url"


def make_client(hass: HomeAssistant, data: Mapping[str, Any]) -> ImmichClient:
    """Return a client of the server and key in entry data (or form input)."""
    verify_ssl = bool(data.get(CONF_VERIFY_SSL, True))
    return ImmichClient(
        async_get_clientsession(hass, verify_ssl),
        data[CONF_URL],
        data[CONF_API_KEY],
        verify_ssl=verify_ssl,
    )
