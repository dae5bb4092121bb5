"""Diagnostics of webhook sources: no secret, no sensitive header, after a delivery."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from ...sources.webhook.payloads import gitea_request, push_payload
from .conftest import (
    GENERIC_SECRET,
    GENERIC_WEBHOOK_ID,
    GITEA_SECRET,
    GITEA_WEBHOOK_ID,
    PLANKA_TOKEN,
    PLANKA_WEBHOOK_ID,
)


async def test_diagnostics_redact_secrets(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    planka_entry: MockConfigEntry,
    generic_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Webhook ids, secrets, tokens and delivered credentials are not shown."""
    # Before the HTTP server starts: its router is frozen afterwards.
    assert await async_setup_component(hass, "diagnostics", {})
    client = await setup_webhooks(gitea_entry, planka_entry, generic_entry)
    body, headers = gitea_request("push", push_payload(), GITEA_SECRET)
    signature = headers["X-Gitea-Signature"]
    headers["Authorization"] = "Bearer leaked-bearer-value"
    response = await client.post(
        f"/api/webhook/{GITEA_WEBHOOK_ID}", data=body, headers=headers
    )
    assert response.status == 202
    await hass.async_block_till_done()

    volatile = props(
        "dispatch_id",
        "started_at",
        "duration_ms",
        "occurred_at",
        "last_delivery",
        "request_id",
    )
    hidden = (
        GITEA_SECRET,
        PLANKA_TOKEN,
        GENERIC_SECRET,
        GITEA_WEBHOOK_ID,
        PLANKA_WEBHOOK_ID,
        GENERIC_WEBHOOK_ID,
        signature,
        "leaked-bearer-value",
    )
    for entry in (gitea_entry, planka_entry, generic_entry):
        result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        dumped = json.dumps(result, default=str)
        for value in hidden:
            assert value not in dumped
        assert result == snapshot(exclude=volatile)
