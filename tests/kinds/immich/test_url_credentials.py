"""Credentials in the Immich URL (a reverse proxy's basic auth) are secrets.

They must authenticate every request, and appear in no notification link, no
diagnostics, no repair issue, no reauth form, no repr and no log line.
"""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.kinds.immich.coordinator import (
    FAILURES_BEFORE_ISSUE,
    unreachable_issue_id,
)
from custom_components.notify_bridge.net import basic_auth_header
from tests.fakes.immich_server import FakeImmichServer

from .conftest import (
    IMMICH_ENTRY_ID,
    coordinator,
    immich_entry,
    immich_route,
    messages,
    poll,
    setup_all,
)

USER = "proxyuser"
PASSWORD = "pr0xy-Pa55word"


def with_credentials(url: str) -> str:
    """Return the fake's URL with the proxy's credentials in it."""
    return url.replace("http://", f"http://{USER}:{PASSWORD}@")


async def test_url_credentials_authenticate_but_never_show(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    target_entry: Any,
    v3: FakeImmichServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Links, diagnostics, repairs, reauth form, repr and DEBUG logs: no password."""
    caplog.set_level(logging.DEBUG)
    v3.proxy_auth = basic_auth_header(USER, PASSWORD)
    linked = v3.create_album("Holiday", 1)
    share_key = v3.add_shared_link(linked)
    plain = v3.create_album("Work", 1)
    entry = immich_entry(hass, v3, [immich_route([linked, plain])])
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "url": with_credentials(v3.url)}
    )
    await setup_all(hass)

    # The proxy let every request through: the changes are seen and delivered.
    v3.add_assets(linked, 1)
    v3.add_assets(plain, 1)
    await poll(hass)
    text = "\n".join(messages(hass))
    assert f"{v3.url}/share/{share_key}" in text
    assert f"{v3.url}/albums/{plain}" in text
    assert v3.paths["/api/albums"] >= 2

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["data"]["url"] == v3.url.replace(
        "http://", "http://**REDACTED**@"
    )

    registry = ir.async_get(hass)
    v3.fail(500, path="/api/albums", times=FAILURES_BEFORE_ISSUE)
    for _ in range(FAILURES_BEFORE_ISSUE):
        await coordinator(hass).async_refresh()
    issue = registry.async_get_issue(DOMAIN, unreachable_issue_id(IMMICH_ENTRY_ID))
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["url"] == v3.url

    v3.api_key = "rotated-key"
    await coordinator(hass).async_refresh()
    await hass.async_block_till_done()
    [flow] = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    form = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"api_key": "still-wrong"}
    )
    assert form["type"] is FlowResultType.FORM
    assert form["description_placeholders"]["url"] == v3.url

    surfaces = [
        text,
        str(diagnostics),
        str(issue.translation_placeholders),
        str(form),
        repr(coordinator(hass).client),
        repr(coordinator(hass)),
        caplog.text,
    ]
    for surface in surfaces:
        assert PASSWORD not in surface
        assert f"{USER}:" not in surface
    # The entry itself keeps them: the next start must authenticate again.
    assert entry.data["url"] == with_credentials(v3.url)


async def test_without_the_credentials_the_proxy_refuses(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """Control: the fake proxy really checks, so the test above proves auth is sent."""
    v3.proxy_auth = basic_auth_header(USER, PASSWORD)
    album = v3.create_album("Holiday", 1)
    entry = immich_entry(hass, v3, [immich_route([album])])
    await setup_all(hass)
    assert entry.state is not ConfigEntryState.LOADED
    assert v3.paths["/api/albums"] == 1  # refused by the proxy


def suggested(result: Any, field: str) -> Any:
    """Return what a form pre-fills in a field."""
    for key in result["data_schema"].schema:
        if key == field:
            return (key.description or {}).get("suggested_value", key.default())
    raise KeyError(field)


async def test_reconfigure_shows_the_url_bare_and_keeps_the_credentials(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """The edit form never shows them; submitting the bare URL keeps them (the
    proxy still lets the validation through), a URL with new ones replaces them."""
    v3.proxy_auth = basic_auth_header(USER, PASSWORD)
    entry = immich_entry(hass, v3, [])
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "url": with_credentials(v3.url)}
    )
    await setup_all(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert suggested(result, "url") == v3.url
    assert PASSWORD not in str(result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": v3.url, "api_key": v3.api_key, "verify_ssl": True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["url"] == with_credentials(v3.url)

    v3.proxy_auth = basic_auth_header(USER, "rotated")
    result = await entry.start_reconfigure_flow(hass)
    new_url = v3.url.replace("http://", f"http://{USER}:rotated@")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": new_url, "api_key": v3.api_key, "verify_ssl": True}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["url"] == new_url
