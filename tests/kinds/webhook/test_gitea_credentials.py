"""Credentials in the Gitea URL never reach diagnostics, the reauth form or the log."""

from __future__ import annotations

from collections.abc import AsyncIterator
import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.notify_bridge.const import DOMAIN

from ...fakes.gitea_server import TOKEN, FakeGitea
from .conftest import GITEA_ENTRY_ID, GITEA_SECRET, GITEA_WEBHOOK_ID

PASSWORD = "pr0xy-Pa55word"


@pytest.fixture
async def gitea(socket_enabled: None) -> AsyncIterator[FakeGitea]:
    """A started fake Gitea."""
    fake = FakeGitea()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def gitea_data(gitea: FakeGitea) -> dict[str, Any]:
    """A polling Gitea entry whose URL carries credentials."""
    return {
        "kind": "gitea",
        "url": gitea.url.replace("http://", f"http://proxy:{PASSWORD}@"),
        "token": TOKEN,
        "webhook_id": GITEA_WEBHOOK_ID,
        "webhook_secret": GITEA_SECRET,
        "local_only": False,
        "scan_interval": 5,
    }


async def test_gitea_url_credentials_never_show(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    gitea: FakeGitea,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Diagnostics mask them, the reauth form and DEBUG logs do not show them."""
    caplog.set_level(logging.DEBUG)
    # Before the HTTP server starts: its router is frozen afterwards.
    assert await async_setup_component(hass, "diagnostics", {})
    await setup_webhooks(gitea_entry)
    assert gitea.requests["/api/v1/repos/issues/search"] == 1

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, gitea_entry)
    assert diagnostics["entry"]["data"]["url"] == gitea.url.replace(
        "http://", "http://**REDACTED**@"
    )

    gitea.token = "rotated"
    await hass.config_entries.async_get_known_entry(
        GITEA_ENTRY_ID
    ).runtime_data.poller.async_refresh()
    await hass.async_block_till_done()
    [flow] = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    form = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"token": "still-wrong"}
    )
    assert form["type"] is FlowResultType.FORM
    assert form["description_placeholders"]["url"] == gitea.url

    for surface in (str(diagnostics), str(form), caplog.text):
        assert PASSWORD not in surface


async def test_gitea_reconfigure_shows_the_url_bare_and_keeps_credentials(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    gitea: FakeGitea,
) -> None:
    """The edit form never shows them; the same bare URL keeps them."""
    await setup_webhooks(gitea_entry)
    stored = gitea_entry.data["url"]
    result = await gitea_entry.start_reconfigure_flow(hass)
    [url_key] = [key for key in result["data_schema"].schema if key == "url"]
    assert url_key.description["suggested_value"] == gitea.url
    assert PASSWORD not in str(result["data_schema"].schema)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": gitea.url, "scan_interval": 5}
    )
    # The webhook URL and secret are shown before the entry changes.
    assert result["step_id"] == "show_webhook"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert gitea_entry.data["url"] == stored
