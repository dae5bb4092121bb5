"""A Planka server is a source once; URL-less Planka and generic webhooks are not
duplicates (each is its own endpoint with its own secret)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.notify_bridge.const import DOMAIN
from tests.common import start_entry_flow


async def _add_planka(hass: HomeAssistant, user_input: dict[str, Any]) -> Any:
    result = await start_entry_flow(hass, "planka")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Boards", **user_input}
    )
    if result["type"] is FlowResultType.FORM and result["step_id"] == "show_webhook":
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    return result


async def test_same_planka_server_is_refused(hass: HomeAssistant) -> None:
    """The second entry for a Planka URL aborts with Planka's own words, also when
    it differs only by a trailing slash or credentials."""
    first = await _add_planka(hass, {"url": "http://127.0.0.1:3000"})
    assert first["type"] is FlowResultType.CREATE_ENTRY
    for url in ("http://127.0.0.1:3000/", "http://me:pw@127.0.0.1:3000"):
        again = await _add_planka(hass, {"url": url})
        assert again["type"] is FlowResultType.ABORT
        assert again["reason"] == "planka_already_configured"
    other = await _add_planka(hass, {"url": "http://127.0.0.1:3001"})
    assert other["type"] is FlowResultType.CREATE_ENTRY
    unique_ids = {e.unique_id for e in hass.config_entries.async_entries(DOMAIN)}
    assert unique_ids == {
        "planka:http://127.0.0.1:3000",
        "planka:http://127.0.0.1:3001",
    }


async def test_planka_without_url_is_a_new_endpoint(hass: HomeAssistant) -> None:
    """Nothing names the server without a URL: each entry is a new webhook."""
    results = [await _add_planka(hass, {}) for _ in range(2)]
    assert [r["type"] for r in results] == [FlowResultType.CREATE_ENTRY] * 2
    hooks = {r["data"]["webhook_id"] for r in results}
    assert len(hooks) == 2


async def _reconfigure_planka(hass: HomeAssistant, entry: Any, url: str) -> Any:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": url, "local_only": False}
    )
    if result["type"] is FlowResultType.FORM and result["step_id"] == "show_webhook":
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    return result


async def test_planka_url_may_move_but_not_onto_another(hass: HomeAssistant) -> None:
    """Reconfigure may give a Planka entry a (new) URL, which becomes its unique
    id; another Planka entry's URL is refused."""
    await _add_planka(hass, {"url": "http://127.0.0.1:3000"})
    await _add_planka(hass, {})
    first, second = hass.config_entries.async_entries(DOMAIN)
    refused = await _reconfigure_planka(hass, second, "http://127.0.0.1:3000/")
    assert refused["reason"] == "planka_already_configured"
    assert second.unique_id is None and "url" not in second.data

    moved = await _reconfigure_planka(hass, second, "http://127.0.0.1:3002")
    assert moved["reason"] == "reconfigure_successful"
    assert second.unique_id == "planka:http://127.0.0.1:3002"
    again = await _add_planka(hass, {"url": "http://127.0.0.1:3002"})
    assert again["reason"] == "planka_already_configured"
    kept = await _reconfigure_planka(hass, first, "http://127.0.0.1:3000")
    assert kept["reason"] == "reconfigure_successful"
    assert first.unique_id == "planka:http://127.0.0.1:3000"
