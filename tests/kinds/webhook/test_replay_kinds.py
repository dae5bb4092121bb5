"""Captured deliveries re-sent under a new id header, through Home Assistant's server.

The id headers (`X-Gitea-Delivery`, `Idempotency-Key`) are not signed, so each source
must recognize the replay by what was signed, also after the entry reloads.
"""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from ...sources.webhook.payloads import gitea_request, issue_payload, planka_card_moved
from .conftest import (
    GITEA_ENTRY_ID,
    GITEA_SECRET,
    GITEA_WEBHOOK_ID,
    PLANKA_TOKEN,
    PLANKA_WEBHOOK_ID,
)
from .test_planka_generic import FAILED, GENERIC_URL, signed

GITEA_URL = f"/api/webhook/{GITEA_WEBHOOK_ID}"
PLANKA_URL = f"/api/webhook/{PLANKA_WEBHOOK_ID}"


async def test_gitea_capture_resent_with_new_delivery_ids_notifies_once(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """New `X-Gitea-Delivery` values, before and after a reload: one notification."""
    client = await setup_webhooks(gitea_entry)
    body, headers = gitea_request("issues", issue_payload(), GITEA_SECRET)
    statuses = []
    for delivery in ("d-real", "d-forged-1", "d-forged-2"):
        response = await client.post(
            GITEA_URL, data=body, headers={**headers, "X-Gitea-Delivery": delivery}
        )
        statuses.append(response.status)
    await hass.async_block_till_done()
    assert statuses == [202, 200, 200]
    assert len(legacy_notify_calls) == 1
    stored = hass_storage[f"notify_bridge.webhook.{GITEA_ENTRY_ID}"]["data"]
    assert len(stored["replay"]["entries"]) == 2  # the real id and the body digest

    assert await hass.config_entries.async_reload(gitea_entry.entry_id)
    await hass.async_block_till_done()
    response = await client.post(
        GITEA_URL, data=body, headers={**headers, "X-Gitea-Delivery": "d-after"}
    )
    await hass.async_block_till_done()
    assert response.status == 200
    assert len(legacy_notify_calls) == 1
    # A genuinely different event (another action) still notifies.
    other, other_headers = gitea_request(
        "issues", issue_payload("closed"), GITEA_SECRET, delivery="d-new"
    )
    response = await client.post(GITEA_URL, data=other, headers=other_headers)
    await hass.async_block_till_done()
    assert response.status == 202
    assert len(legacy_notify_calls) == 2


async def test_generic_capture_resent_with_new_idempotency_key(
    hass: HomeAssistant,
    setup_webhooks: Any,
    generic_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """Same signed timestamp and body, any `Idempotency-Key` (or none): one event."""
    client = await setup_webhooks(generic_entry)
    body, headers = signed(FAILED)
    statuses = []
    for key in ("deploy-42", "deploy-43", None):
        sent = {**headers, "Idempotency-Key": key} if key else headers
        statuses.append(
            (await client.post(GENERIC_URL, data=body, headers=sent)).status
        )
    await hass.async_block_till_done()
    assert statuses == [202, 200, 200]
    assert len(legacy_notify_calls) == 1


async def test_planka_identical_payload_is_one_event(
    hass: HomeAssistant,
    setup_webhooks: Any,
    planka_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """Planka bodies carry ids and `updatedAt`: an identical one is a re-send."""
    client = await setup_webhooks(planka_entry)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {PLANKA_TOKEN}",
    }
    payload = planka_card_moved()
    compact = json.dumps(payload, separators=(",", ":"))
    statuses = [
        (await client.post(PLANKA_URL, data=data, headers=headers)).status
        for data in (json.dumps(payload), json.dumps(payload), compact)
    ]
    await hass.async_block_till_done()
    assert statuses == [202, 200, 200]
    assert len(legacy_notify_calls) == 1
