"""Admin-entered service URLs never point at a cloud metadata endpoint.

Each config flow that takes a server URL (Immich, Gitea, Planka, the Telegram Bot API
server) refuses metadata addresses, names, and names that resolve to them, with one
translated error; LAN addresses stay allowed. Resolution goes through the event
loop's real `getaddrinfo` (numeric forms need no DNS); a name resolving to metadata is
answered by patching that loop method, so no DNS traffic leaves the machine.
"""

from __future__ import annotations

import json
from pathlib import Path
import socket
from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component import plugins as ha_test_plugins

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.net import METADATA_URL_ERROR

STRINGS = json.loads(
    (
        Path(__file__).parents[2] / "custom_components/notify_bridge/strings.json"
    ).read_text(encoding="utf-8")
)
TRANSLATIONS = json.loads(
    (
        Path(__file__).parents[2]
        / "custom_components/notify_bridge/translations/en.json"
    ).read_text(encoding="utf-8")
)

# Name that a (patched) resolver answers with the AWS/GCP/Azure metadata address.
REBOUND = "immich.rebound.test"
METADATA_URLS = [
    "http://169.254.169.254",
    "http://169.254.169.254:8080/latest/",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://169.254.170.2/v2/credentials",
    "http://100.100.100.200/",
    "http://metadata.google.internal/",
    "http://METADATA.Google.Internal.:80/",
    "http://2852039166/",  # 169.254.169.254 as one decimal number
    "http://0xa9.0xfe.0xa9.0xfe/",  # ... and in hex
    "http://user:pw@169.254.169.254/",
    f"http://{REBOUND}:2283/",
]

# The resolver under the test plugin's DNS block (newer plugins refuse every name but
# localhost; older ones have no block, so socket's own is the real one).
real_getaddrinfo = getattr(ha_test_plugins, "_real_getaddrinfo", socket.getaddrinfo)


@pytest.fixture(autouse=True)
def rebound_name(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make REBOUND resolve to 169.254.169.254 and a LAN name to a LAN address."""

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        table = {REBOUND: "169.254.169.254", "nas.lan": "192.168.1.20"}
        if host in table:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port or 80))
            ]
        # Numeric forms (decimal, hex) through libc itself, without DNS; any other
        # name fails like a lookup of an unknown host.
        return real_getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )

    monkeypatch.setattr(hass.loop, "getaddrinfo", getaddrinfo)


async def _start(hass: HomeAssistant, kind: str) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": kind}
    )


FORMS = {
    "immich": ("url", lambda url: {"url": url, "api_key": "k" * 20}),
    "gitea": ("url", lambda url: {"name": "Forge", "url": url, "scan_interval": 0}),
    "planka": ("url", lambda url: {"name": "Boards", "url": url}),
    "telegram": (
        "api_base_url",
        lambda url: {"bot_token": "123456:TEST-TOKEN", "api_base_url": url},
    ),
}


@pytest.mark.parametrize("kind", list(FORMS))
@pytest.mark.parametrize("url", METADATA_URLS)
async def test_metadata_url_refused(hass: HomeAssistant, kind: str, url: str) -> None:
    """Refused before any request, with the one translated error."""
    field, form = FORMS[kind]
    result = await _start(hass, kind)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(url)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: METADATA_URL_ERROR}


def test_error_is_translated() -> None:
    """One key, the same text in strings.json and en.json."""
    text = STRINGS["config"]["error"][METADATA_URL_ERROR]
    assert TRANSLATIONS["config"]["error"][METADATA_URL_ERROR] == text
    assert "metadata" in text


@pytest.mark.parametrize(
    "url", ["http://192.168.1.10:3000", "http://nas.lan:3000", "http://[fd00::5]/"]
)
async def test_lan_addresses_stay_allowed(hass: HomeAssistant, url: str) -> None:
    """A Gitea on the LAN (no token: no request) is accepted."""
    result = await _start(hass, "gitea")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], FORMS["gitea"][1](url)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "show_webhook"
    assert not result.get("errors")
