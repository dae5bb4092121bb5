"""Config flow of the Immich source: entry, errors, reauth, reconfigure, routes."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntryState,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.net import CONNECT_REASONS, normalize_url
from tests.common import kind_entry, start_entry_flow
from tests.fakes.immich_server import API_KEY, ME_ID, FakeImmichServer

from .conftest import (
    immich_entry,
    immich_route,
    setup_all,
)


def _form(url: str, api_key: str = API_KEY) -> dict[str, Any]:
    return {"url": url, "api_key": api_key, "verify_ssl": True}


async def test_create_entry(hass: HomeAssistant, server: FakeImmichServer) -> None:
    """Validated against the server; unique id from user and server; title."""
    result = await start_entry_flow(hass, "immich")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "immich"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form(f"{server.url}/api/")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Immich: Alice @ 127.0.0.1"
    assert result["data"] == {
        "kind": "immich",
        "url": server.url,
        "api_key": API_KEY,
        "verify_ssl": True,
        "user_id": ME_ID,
    }
    assert result["result"].unique_id.startswith(f"{ME_ID}@127.0.0.1:")
    assert server.paths["/api/server/ping"] == 1
    assert server.paths["/api/server/version"] == 1
    assert server.paths["/api/users/me"] == 1

    # The same user on the same server again: aborted.
    result = await start_entry_flow(hass, "immich")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form(server.url)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "immich_already_configured"


@pytest.mark.parametrize(
    ("prepare", "url", "error"),
    [
        (None, "ftp://nowhere", {"url": "invalid_url"}),
        (None, "not a url at all", {"url": "invalid_url"}),
        (lambda s: None, "WRONG_KEY", {"base": "immich_invalid_auth"}),
        (
            lambda s: s.fail(500, path="/api/server/version"),
            None,
            {"base": "immich_cannot_connect"},
        ),
        (lambda s: s.garbage(path="/api/server/ping"), None, {"base": "not_immich"}),
    ],
    ids=["scheme", "garbage-url", "auth", "server-error", "not-immich"],
)
async def test_entry_errors(
    hass: HomeAssistant,
    v3: FakeImmichServer,
    prepare: Any,
    url: str | None,
    error: dict[str, str],
) -> None:
    """Each failure is a translated form error; fixing it creates the entry."""
    if prepare is not None:
        prepare(v3)
    api_key = "wrong" if url == "WRONG_KEY" else API_KEY
    target = v3.url if url in (None, "WRONG_KEY") else url
    result = await start_entry_flow(hass, "immich")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form(target, api_key)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == error
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form(v3.url)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_entry_unreachable_and_unknown(
    hass: HomeAssistant, v3: FakeImmichServer
) -> None:
    """A closed port is cannot_connect; an unexpected exception is unknown."""
    url = v3.url
    await v3.close()
    result = await start_entry_flow(hass, "immich")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form(url)
    )
    assert result["errors"] == {"base": "immich_cannot_connect"}
    # Which server, and why: nothing listens on the port any more.
    assert result["description_placeholders"]["server"] == url
    assert result["description_placeholders"]["reason"] == CONNECT_REASONS["refused"]
    with patch(
        "custom_components.notify_bridge.sources.immich.client.ImmichClient.async_validate",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _form(url)
        )
    assert result["errors"] == {"base": "unknown"}


def test_normalize_url() -> None:
    """Trailing slashes and /api are dropped; other schemes refused."""
    assert normalize_url(" https://photos.example.com/api/ ", drop_suffix="/api") == (
        "https://photos.example.com"
    )
    assert normalize_url("http://host:2283/immich/") == "http://host:2283/immich"
    assert normalize_url("mailto:someone@example.com") is None
    assert normalize_url("http://[::1") is None


async def test_reauth_on_401(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """A refused key during polling starts reauth; a new key of the same user fixes it."""
    album = v3.create_album("One", 1)
    entry = immich_entry(hass, v3, [immich_route([album])])
    await setup_all(hass)
    v3.api_key = "rotated-key"
    coordinator = entry.runtime_data.coordinator
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    flow = flows[0]
    assert flow["context"]["source"] == "reauth"
    assert flow["step_id"] == "reauth_confirm"

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"api_key": "still-wrong"}
    )
    assert result["errors"] == {"base": "immich_invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"api_key": "rotated-key"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["api_key"] == "rotated-key"
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_at_setup_and_wrong_account(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """A key refused at start-up starts reauth; another user's key is refused."""
    entry = immich_entry(hass, v3, [])
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "user_id": "someone-else"}
    )
    v3.api_key = "new-key"
    await setup_all(hass)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flow = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"api_key": "new-key"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "immich_wrong_account"


async def test_reconfigure(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """Reconfigure validates, keeps the user, and updates the unique id."""
    entry = immich_entry(hass, v3, [])
    kind_entry(
        hass,
        "immich",
        data={"url": v3.url, "api_key": API_KEY, "user_id": ME_ID},
        unique_id=f"{ME_ID}@localhost:{v3.url.rsplit(':', 1)[1]}",
    )
    await setup_all(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form(v3.url, "wrong")
    )
    assert result["errors"] == {"base": "immich_invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**_form(f"{v3.url}/api"), "verify_ssl": False}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["verify_ssl"] is False
    assert entry.data["url"] == v3.url

    # Another entry already watches this user through "localhost".
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form(v3.url.replace("127.0.0.1", "localhost"))
    )
    assert result["reason"] == "immich_already_configured"

    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "user_id": "someone-else"}
    )
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form(v3.url)
    )
    assert result["reason"] == "immich_wrong_account"


# --- routes ---------------------------------------------------------------------------


async def test_external_url_is_where_links_point(
    hass: HomeAssistant, server: FakeImmichServer
) -> None:
    """An external URL is checked as an address, stored without credentials or a
    trailing slash, and becomes the root of album links; it survives a
    reconfigure that leaves it as suggested."""
    result = await start_entry_flow(hass, "immich")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**_form(server.url), "external_url": "not a url"}
    )
    assert result["errors"] == {"external_url": "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**_form(server.url), "external_url": "https://me:pw@photos.example.com/"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["external_url"] == "https://photos.example.com"
    await hass.async_block_till_done()
    entry = result["result"]
    watcher = entry.runtime_data.coordinator.watcher
    assert watcher.web_url == "https://photos.example.com"

    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id},
    )
    key = next(k for k in result["data_schema"].schema if k == "external_url")
    assert key.description == {"suggested_value": "https://photos.example.com"}
